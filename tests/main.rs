//! The one integration-test binary (one link instead of one per file); each module is a
//! test file of its own.

mod load;
