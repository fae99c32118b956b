//! The envd versions the SDK's features need, in one table: the first version of envd that has
//! each one. The official SDK checks the same versions; older envd gets its messages. (The
//! versions `/files` uploads need are in pkg-templates/files.js, which makes those calls.)

/// Recursive directory watches.
pub const RECURSIVE_WATCH: &str = "0.1.4";
/// `stdin: false` on a command (older envd always attaches a pipe).
pub const STDIN_OPTIONAL: &str = "0.3.0";
/// envd picks the sandbox's default user itself (older envd needs `user` named).
pub const DEFAULT_USER: &str = "0.4.0";
/// Closing a process's stdin.
pub const CLOSE_STDIN: &str = "0.5.2";
/// Entry info in watch events.
pub const WATCH_ENTRY_INFO: &str = "0.6.3";
/// Watches of directories on network mounts.
pub const WATCH_NETWORK_MOUNTS: &str = "0.6.4";
