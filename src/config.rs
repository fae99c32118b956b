//! The SDK's defaults for envd calls. The connection options themselves are resolved by the
//! facade's `ConnectionConfig` (pkg-templates/sandbox.js), as officially; the wasm gets what
//! they resolve to (`SandboxCore::new`).

/// The request timeout when the sandbox's options give none.
pub const REQUEST_TIMEOUT_MS: f64 = 60_000.0;
/// Default lifetime of a command, PTY or reconnect stream (`timeoutMs`).
pub const STREAM_TIMEOUT_MS: f64 = 60_000.0;
pub const HEALTH_CHECK_TIMEOUT_MS: f64 = 5_000.0;
pub use envd_protocol::ENVD_PORT;
/// Seconds between keepalive messages asked of envd on streams.
pub const KEEPALIVE_PING_INTERVAL: &str = "50";
/// User named on behalf of the caller when envd is too old to pick its default user.
pub const DEFAULT_USERNAME: &str = "user";
