//! envd: the daemon inside a sandbox. Connect RPC `process.Process` and
//! `filesystem.Filesystem`, plus the HTTP routes `/files`, `/health`, `/envs`, `/init`, `/metrics`.
//!
//! Layout: `http` routes requests (CORS, auth) → `connect` decodes/encodes Connect calls →
//! `process` and `filesystem` (one file per RPC group) and `files` (`/files`). Every operation
//! runs as the selected user: `users` resolves names from the local `/etc/passwd`/`/etc/group`,
//! `paths` resolves paths against that user's home, `creds` switches a blocking thread's
//! filesystem credentials to the user's.

mod connect;
mod creds;
mod endpoints;
mod files;
mod filesystem;
mod http;
mod paths;
mod proc_usage;
mod process;
mod state;
mod users;

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::Arc;

use anyhow::Context;

pub use state::Envd;

/// Version string envd reports; the SDKs gate features on it (≥ 0.6.4 enables everything).
pub const ENVD_VERSION: &str = "0.6.13";

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (HTTP/1.1 and h2c on the same port).
    #[arg(long, default_value_t = SocketAddr::from(([127, 0, 0, 1], envd_protocol::ENVD_PORT)))]
    pub listen: SocketAddr,
    /// Serve on this already-bound, listening TCP socket (inherited descriptor) instead of
    /// binding `--listen`.
    #[arg(long)]
    pub listen_fd: Option<RawFd>,
    /// Require this `X-Access-Token` on every request but `/health` (and signed `/files` URLs).
    #[arg(long, env = "ENVD_ACCESS_TOKEN", hide_env_values = true)]
    pub access_token: Option<String>,
    /// User operations run as when a request names none (E2B templates use `user`).
    #[arg(long, default_value = "root")]
    pub user: String,
    /// Working directory for commands and empty paths (default: the user's home).
    #[arg(long)]
    pub workdir: Option<String>,
    /// Sandbox ID, exported to processes as `E2B_SANDBOX_ID`.
    #[arg(long)]
    pub sandbox_id: Option<String>,
    /// Template ID, exported to processes as `E2B_TEMPLATE_ID`.
    #[arg(long)]
    pub template_id: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    process::become_subreaper();
    creds::remember_parent_death_signal();
    ensure_standard_fds();
    // One thread runs every task and the I/O driver: a request, a process's output and a
    // terminal's echo then pass from task to task without waking another thread (those wakes
    // were most of the tail latency of small calls on a busy machine), and fewer threads hold
    // less memory. File I/O that can block long (large uploads and downloads, directory walks,
    // starting processes) still runs on the blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        process::start_reaper().context("installing the SIGCHLD handler")?;
        let listener = match args.listen_fd {
            // SAFETY: the caller hands this descriptor to us to own; nothing else uses it.
            Some(fd) => {
                // Inherited without close-on-exec (it crossed an exec to get here): set it, or
                // every process envd starts would hold envd's listening socket and could
                // accept the connections meant for envd.
                let std_listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
                let cloexec = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC);
                nix::fcntl::fcntl(&std_listener, cloexec)
                    .context("setting close-on-exec on the listening socket")?;
                std_listener.set_nonblocking(true)?;
                tokio::net::TcpListener::from_std(std_listener)?
            }
            None => tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?,
        };
        let envd = Envd::new(&args);
        eprintln!("envd: listening on {}", listener.local_addr()?);
        serve(listener, envd).await
    })
}

/// Opens `/dev/null` on any of descriptors 0–2 that is closed, so pipes created later can
/// never land there (a child's stdio setup relies on that).
fn ensure_standard_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries; open returns the lowest free descriptor, which is `fd`.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

/// Serves envd's HTTP routes on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, envd: Arc<Envd>) -> anyhow::Result<()> {
    crate::http_connections::serve(listener, "envd", move |req| http::handle(envd.clone(), req))
        .await;
    Ok(())
}
