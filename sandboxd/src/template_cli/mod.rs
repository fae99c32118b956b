//! `sandboxd template build <dir>`: builds `<dir>/e2b.Dockerfile` (see [`dockerfile`]) as a
//! client of a running sandboxd's REST API, in the calls and order of the official SDK's
//! `Template.build` (`POST /v3/templates`, an upload per `COPY`, `POST /v2/.../builds/{id}`,
//! then status polls whose log lines go to stdout). Through the API rather than on the data dir
//! because the server owns the data dir while it runs (its lock, its template records, its
//! build cache), and so that the build runs the very code SDK builds run.
//!
//! `COPY` sources are packed from the context dir as the SDK packs them, and no further: a
//! source must stay inside the dir (no `..` out of it, no symlinked directory on the way), and
//! symlinks are packed as links, never followed, so nothing outside the dir is read.

mod client;
mod dockerfile;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use client::Api;
use dockerfile::{DEFAULT_READY_CMD, Instruction, Recipe};

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The build context: holds `e2b.Dockerfile` and what its COPY instructions copy, and
    /// optionally E2B's `e2b.toml` (`template_name`, `dockerfile`, `start_cmd`, `ready_cmd`,
    /// `cpu_count`, `memory_mb`: defaults for the flags).
    pub dir: PathBuf,
    /// The Dockerfile (default: `<dir>/e2b.Dockerfile`).
    #[arg(short = 'f', long = "file")]
    pub dockerfile: Option<PathBuf>,
    /// Template name, optionally with a tag (`name:tag`); default: the dir's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Start command instead of the Dockerfile's CMD/ENTRYPOINT.
    #[arg(long)]
    pub cmd: Option<String>,
    /// Ready command (default with a start command: wait 20 s, as the SDK does).
    #[arg(long)]
    pub ready_cmd: Option<String>,
    #[arg(long)]
    pub cpu_count: Option<u32>,
    #[arg(long = "memory-mb")]
    pub memory_mb: Option<u64>,
    /// Rebuild every step instead of reusing cached layers.
    #[arg(long)]
    pub force: bool,
    /// The sandboxd to build on.
    #[arg(long, env = "E2B_API_URL", default_value = "http://127.0.0.1:3000")]
    pub api_url: String,
    /// Its API key (`sandboxd serve` prints it; it is in `<data dir>/api-key`).
    #[arg(long, env = "E2B_API_KEY", hide_env_values = true)]
    pub api_key: String,
}

/// What E2B's CLI keeps beside the Dockerfile in `e2b.toml`; its keys are defaults for the
/// flags, so that a template dir made for E2B's CLI builds here the same way.
#[derive(Default, serde::Deserialize)]
struct E2bToml {
    template_name: Option<String>,
    dockerfile: Option<String>,
    start_cmd: Option<String>,
    ready_cmd: Option<String>,
    cpu_count: Option<u32>,
    memory_mb: Option<u64>,
}

/// Runs the build; `Err` (exit 1) when it cannot start or fails.
pub fn build_command(args: BuildArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(build(args, &|line| println!("{line}")))
}

/// Builds the template dir `dir` as `name` on the sandboxd at `api_url`, as `sandboxd template
/// build <dir> --name <name>` would; for a server building one of its built-in templates on
/// first use. Log lines go to stderr, named.
pub async fn build_builtin(
    dir: PathBuf,
    name: String,
    api_url: String,
    api_key: String,
) -> anyhow::Result<()> {
    let prefix = format!("sandboxd: building {name}: ");
    let args = BuildArgs {
        dir,
        dockerfile: None,
        name: Some(name),
        cmd: None,
        ready_cmd: None,
        cpu_count: None,
        memory_mb: None,
        force: false,
        api_url,
        api_key,
    };
    build(args, &|line| eprintln!("{prefix}{line}")).await
}

async fn build(args: BuildArgs, log: &(dyn Fn(&str) + Sync)) -> anyhow::Result<()> {
    let args = with_e2b_toml(args)?;
    let dockerfile = args
        .dockerfile
        .clone()
        .unwrap_or_else(|| args.dir.join("e2b.Dockerfile"));
    let text = std::fs::read_to_string(&dockerfile)
        .with_context(|| format!("reading {}", dockerfile.display()))?;
    let recipe =
        dockerfile::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", dockerfile.display()))?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => default_name(&args.dir)?,
    };
    // Every source is packed and checked before the server is asked for anything.
    let packed = pack_sources(&args.dir, &recipe)?;
    let api = Api::new(&args.api_url, &args.api_key)?;

    let created = api
        .call(
            "POST",
            "/v3/templates",
            Some(json!({
                "name": name,
                "cpuCount": args.cpu_count,
                "memoryMB": args.memory_mb,
            })),
        )
        .await?;
    let (template_id, build_id) = (
        text_of(&created, "templateID")?,
        text_of(&created, "buildID")?,
    );
    for (hash, archive) in packed.values() {
        let link = api
            .call(
                "GET",
                &format!("/templates/{template_id}/files/{hash}"),
                None,
            )
            .await?;
        if link["present"] != Value::Bool(true) {
            api.upload(text_of(&link, "url")?, archive.clone()).await?;
        }
    }
    let start_cmd = args.cmd.clone().or(recipe.start_cmd.clone());
    let ready_cmd = args
        .ready_cmd
        .clone()
        .or_else(|| start_cmd.as_ref().map(|_| DEFAULT_READY_CMD.to_string()));
    let (from_template, from_image) = if api.template_exists(&recipe.from).await? {
        (Some(recipe.from.clone()), None)
    } else {
        (None, Some(recipe.from.clone()))
    };
    let steps: Vec<Value> = recipe
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| step_json(step, packed.get(&i).map(|(hash, _)| hash.as_str())))
        .collect();
    api.call(
        "POST",
        &format!("/v2/templates/{template_id}/builds/{build_id}"),
        Some(json!({
            "fromImage": from_image,
            "fromTemplate": from_template,
            "startCmd": start_cmd,
            "readyCmd": ready_cmd,
            "force": args.force,
            "steps": steps,
        })),
    )
    .await?;
    follow(&api, template_id, build_id, log).await?;
    log(&format!(
        "Template {name} ({template_id}) is ready: build {build_id}"
    ));
    Ok(())
}

/// `args` with what the dir's `e2b.toml` says where no flag did.
fn with_e2b_toml(args: BuildArgs) -> anyhow::Result<BuildArgs> {
    let path = args.dir.join("e2b.toml");
    let config: E2bToml = match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => E2bToml::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Ok(BuildArgs {
        dockerfile: args
            .dockerfile
            .or(config.dockerfile.map(|file| args.dir.join(file))),
        name: args.name.or(config.template_name),
        cmd: args.cmd.or(config.start_cmd),
        ready_cmd: args.ready_cmd.or(config.ready_cmd),
        cpu_count: args.cpu_count.or(config.cpu_count),
        memory_mb: args.memory_mb.or(config.memory_mb),
        ..args
    })
}

/// Polls the build's status, printing its log lines, until it is ready or failed.
async fn follow(
    api: &Api,
    template_id: &str,
    build_id: &str,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<()> {
    let mut offset = 0;
    loop {
        let status = api
            .call(
                "GET",
                &format!("/templates/{template_id}/builds/{build_id}/status?logsOffset={offset}"),
                None,
            )
            .await?;
        let entries = status["logEntries"].as_array().cloned().unwrap_or_default();
        offset += entries.len();
        for entry in &entries {
            log(entry["message"].as_str().unwrap_or_default());
        }
        match status["status"].as_str() {
            Some("ready") if entries.is_empty() => return Ok(()),
            Some("error") if entries.is_empty() => {
                let reason = status["reason"]["message"]
                    .as_str()
                    .unwrap_or("unknown error");
                bail!("the build failed: {reason}");
            }
            // Ended, but log lines may still be coming: read them first.
            Some("ready" | "error") => {}
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn step_json(step: &Instruction, files_hash: Option<&str>) -> Value {
    let (kind, args): (&str, Vec<String>) = match step {
        Instruction::Run(cmd) => ("RUN", vec![cmd.clone()]),
        Instruction::Copy {
            src,
            dest,
            owner,
            mode,
            ..
        } => (
            "COPY",
            vec![src.clone(), dest.clone(), owner.clone(), mode.clone()],
        ),
        Instruction::Workdir(dir) => ("WORKDIR", vec![dir.clone()]),
        Instruction::User(user) => ("USER", vec![user.clone()]),
        Instruction::Env(envs) => (
            "ENV",
            envs.iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect(),
        ),
    };
    json!({ "type": kind, "args": args, "filesHash": files_hash, "force": false })
}

/// The tar of each `COPY` step's source and its files hash, by step index.
fn pack_sources(dir: &Path, recipe: &Recipe) -> anyhow::Result<BTreeMap<usize, (String, Vec<u8>)>> {
    let context = dir
        .canonicalize()
        .with_context(|| format!("the context dir {}", dir.display()))?;
    let mut packed = BTreeMap::new();
    for (i, step) in recipe.steps.iter().enumerate() {
        let Instruction::Copy {
            src, dest, line, ..
        } = step
        else {
            continue;
        };
        let archive =
            pack(&context, src).map_err(|e| anyhow::anyhow!("line {line}: COPY {src}: {e:#}"))?;
        let mut hash = Sha256::new();
        hash.update(format!("COPY {src} {dest}\n"));
        hash.update(&archive);
        packed.insert(i, (hex::encode(hash.finalize()), archive));
    }
    Ok(packed)
}

/// A tar of `src` (relative to `context`) at its relative path; for a pattern, of the
/// directory its first pattern component is in (the server matches the pattern in it).
fn pack(context: &Path, src: &str) -> anyhow::Result<Vec<u8>> {
    let mut relative = PathBuf::new();
    for component in Path::new(src).components() {
        match component {
            Component::Normal(part) if part.to_string_lossy().contains(['*', '?', '[']) => break,
            Component::Normal(part) => relative.push(part),
            Component::ParentDir => {
                if !relative.pop() {
                    bail!("the source leaves the context dir");
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    // Every directory on the way must be a real one inside the context, not a symlink that
    // would take the walk outside it.
    let mut at = context.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let meta = std::fs::symlink_metadata(&at)
            .with_context(|| format!("{} not found", relative.display()))?;
        if meta.file_type().is_symlink() && i + 1 < parts.len() {
            bail!(
                "{} is a symlink; COPY does not follow symlinked directories",
                at.display()
            );
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    if relative.as_os_str().is_empty() {
        builder.append_dir_all(".", context)?;
    } else if std::fs::symlink_metadata(&at)?.is_dir() {
        builder.append_dir_all(&relative, &at)?;
    } else {
        builder.append_path_with_name(&at, &relative)?;
    }
    Ok(builder.into_inner()?)
}

/// The context dir's name as a template name.
fn default_name(dir: &Path) -> anyhow::Result<String> {
    let name = dir
        .canonicalize()?
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.is_empty() {
        bail!("give the template a name with --name");
    }
    Ok(name)
}

fn text_of<'a>(value: &'a Value, field: &str) -> anyhow::Result<&'a str> {
    value[field]
        .as_str()
        .with_context(|| format!("the server's reply has no {field}: {value}"))
}
