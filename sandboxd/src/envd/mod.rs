//! envd: the daemon inside a sandbox. Connect RPC `process.Process` and
//! `filesystem.Filesystem`, plus the HTTP routes `/files`, `/health`, `/envs`, `/init`, `/metrics`.

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:49983")]
    pub listen: String,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("sandboxd envd: not built yet")
}
