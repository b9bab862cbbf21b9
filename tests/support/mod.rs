//! Test doubles shared by the integration tests (never part of the library).

// Shared with examples/sse_stub.rs, which uses parts the tests do not (`Server::wait`).
pub mod gguf;
pub mod replay;
#[allow(dead_code)]
pub mod stub;
pub mod tls;
