//! Persistence of sandbox records: one JSON file in the data dir, replaced atomically on every
//! change, so a crash leaves either the old or the new state, never half of one.

use std::fs;
use std::path::PathBuf;

use anyhow::Context;

use super::model::SandboxRecord;

pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn new(control_dir: &std::path::Path) -> Store {
        Store {
            path: control_dir.join("sandboxes.json"),
        }
    }

    pub fn load(&self) -> anyhow::Result<Vec<SandboxRecord>> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a sandbox list", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("reading {}", self.path.display())),
        }
    }

    pub fn save<'a>(&self, records: impl Iterator<Item = &'a SandboxRecord>) -> anyhow::Result<()> {
        let mut records: Vec<&SandboxRecord> = records.collect();
        records.sort_by(|a, b| a.sandbox_id.cmp(&b.sandbox_id));
        // It holds every sandbox's access token and env vars: 0600 from the first byte.
        crate::host_files::write_private_atomic(&self.path, &serde_json::to_vec_pretty(&records)?)
            .with_context(|| format!("replacing {}", self.path.display()))
    }
}
