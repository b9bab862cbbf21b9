//! Option groups shared by several subcommands.
