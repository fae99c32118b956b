//! Control plane: the E2B REST API (v1 and v2 paths), sandbox state and lifecycle.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address for the REST API and all sandbox traffic.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: String,
    /// Where templates, sandbox layers, state and the API key live.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// API key to require (default: the key stored in the data dir, created on first start).
    #[arg(long, env = "E2B_API_KEY")]
    pub api_key: Option<String>,
}

pub fn serve(_args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("sandboxd serve: not built yet")
}
