//! `e2b.Dockerfile` → the steps of a template build, by the rules of the official SDK's
//! `Template().fromDockerfile()`: one `FROM` (no multi-stage); the build starts as `root` in
//! `/`; `RUN` runs its text with bash; `COPY`/`ADD` copy each source (`--chown` gives the
//! owner); `WORKDIR`, `USER`, `ENV` and `ARG` (its default, or empty) set what later steps and
//! the sandboxes get; `CMD`/`ENTRYPOINT` become the start command (a JSON array joined with
//! spaces) with a 20 s wait as ready command; `EXPOSE` and `VOLUME` are ignored; sandboxes run
//! as `user` in `/home/user` unless `USER`/`WORKDIR` said otherwise.
//!
//! Stricter than the SDK, which warns and goes on: any other instruction, `COPY --from`, `ADD`
//! of a URL and a source leaving the context dir fail with the line they are on. Also unlike
//! the SDK, `ENV NAME value with spaces` (Docker's old form) keeps its value.

use std::collections::BTreeMap;

/// What the SDK's `fromDockerfile` makes of a `CMD`/`ENTRYPOINT`: wait 20 s, then ready.
pub const DEFAULT_READY_CMD: &str = "sleep 20";

/// A build as the Dockerfile describes it.
#[derive(Debug, PartialEq, Eq)]
pub struct Recipe {
    /// The `FROM` image or template.
    pub from: String,
    pub steps: Vec<Instruction>,
    pub start_cmd: Option<String>,
}

/// One step of `TemplateBuildStartV2`, before `COPY` sources are packed.
#[derive(Debug, PartialEq, Eq)]
pub enum Instruction {
    Run(String),
    Copy {
        src: String,
        dest: String,
        owner: String,
        mode: String,
        /// The Dockerfile line, for errors about the source.
        line: usize,
    },
    Workdir(String),
    User(String),
    Env(BTreeMap<String, String>),
}

/// Parses `text`; errors name the line (counted from 1).
pub fn parse(text: &str) -> Result<Recipe, String> {
    let mut from = None;
    let mut steps = vec![
        Instruction::User("root".into()),
        Instruction::Workdir("/".into()),
    ];
    let (mut user_set, mut workdir_set) = (false, false);
    let mut start_cmd = None;
    for (line, logical) in logical_lines(text) {
        let at = |message: String| format!("line {line}: {message}");
        let (keyword, rest) = logical
            .split_once(char::is_whitespace)
            .map_or((logical.as_str(), ""), |(k, r)| (k, r.trim()));
        let keyword = keyword.to_ascii_uppercase();
        if keyword != "FROM" && from.is_none() && keyword != "ARG" {
            return Err(at(format!("{keyword} before FROM")));
        }
        match keyword.as_str() {
            "FROM" => {
                if from.is_some() {
                    return Err(at("multi-stage Dockerfiles are not supported".into()));
                }
                let image = words(rest).map_err(at)?.into_iter().next();
                from = Some(image.ok_or_else(|| at("FROM needs an image".into()))?);
            }
            "RUN" => {
                if rest.is_empty() {
                    return Err(at("RUN needs a command".into()));
                }
                steps.push(Instruction::Run(
                    exec_form(rest).unwrap_or(rest.to_string()),
                ));
            }
            "COPY" | "ADD" => steps.extend(copies(&keyword, rest, line).map_err(at)?),
            "WORKDIR" | "USER" => {
                let value = words(rest).map_err(at)?.into_iter().next();
                let value = value.ok_or_else(|| at(format!("{keyword} needs a value")))?;
                if keyword == "USER" {
                    user_set = true;
                    steps.push(Instruction::User(value));
                } else {
                    workdir_set = true;
                    steps.push(Instruction::Workdir(value));
                }
            }
            "ENV" | "ARG" => {
                let envs = env_pairs(&keyword, rest).map_err(at)?;
                if !envs.is_empty() {
                    steps.push(Instruction::Env(envs));
                }
            }
            "CMD" | "ENTRYPOINT" => {
                if rest.is_empty() {
                    return Err(at(format!("{keyword} needs a command")));
                }
                start_cmd = Some(exec_form(rest).unwrap_or(rest.to_string()));
            }
            "EXPOSE" | "VOLUME" => {}
            other => {
                return Err(at(format!(
                    "{other} is not supported (supported: FROM, RUN, COPY, ADD, WORKDIR, USER, \
                     ENV, ARG, CMD, ENTRYPOINT; EXPOSE and VOLUME are ignored)"
                )));
            }
        }
    }
    let from = from.ok_or("the Dockerfile has no FROM")?;
    if !user_set {
        steps.push(Instruction::User("user".into()));
    }
    if !workdir_set {
        steps.push(Instruction::Workdir("/home/user".into()));
    }
    Ok(Recipe {
        from,
        steps,
        start_cmd,
    })
}

/// Instructions with their first line: continuations (`\` at the end) joined, comments and
/// blank lines dropped.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_none()) {
            continue;
        }
        let (continued, body) = match trimmed.strip_suffix('\\') {
            Some(body) => (true, body),
            None => (false, trimmed),
        };
        let entry = current.get_or_insert_with(|| (i + 1, String::new()));
        if !entry.1.is_empty() && !body.is_empty() {
            entry.1.push(' ');
        }
        entry.1.push_str(body.trim());
        if !continued {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// `["a", "b"]` joined with spaces, as the SDK does; `None` for the shell form.
fn exec_form(rest: &str) -> Option<String> {
    let parts: Vec<String> = serde_json::from_str(rest).ok()?;
    Some(parts.join(" "))
}

/// Shell-like words: whitespace separates, quotes group and are removed, `\` escapes.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => out.extend(word.take()),
            '"' | '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => current.extend(chars.next()),
                        Some(other) => current.push(other),
                        None => return Err(format!("unterminated {c} quote")),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    Ok(out)
}

fn env_pairs(keyword: &str, rest: &str) -> Result<BTreeMap<String, String>, String> {
    let parts = words(rest)?;
    let mut envs = BTreeMap::new();
    match parts.first() {
        None => return Err(format!("{keyword} needs a name")),
        // Docker's old form: `ENV NAME the rest is the value`.
        Some(first) if keyword == "ENV" && !first.contains('=') => {
            let value = rest.trim_start()[first.len()..].trim();
            envs.insert(first.clone(), words(value)?.join(" "));
        }
        Some(_) => {
            for part in parts {
                match part.split_once('=') {
                    Some((name, value)) if !name.is_empty() => {
                        envs.insert(name.to_string(), value.to_string());
                    }
                    None if keyword == "ARG" => {
                        envs.insert(part, String::new());
                    }
                    _ => return Err(format!("{keyword}: '{part}' is not NAME=value")),
                }
            }
        }
    }
    Ok(envs)
}

/// `COPY [--chown=u[:g]] [--chmod=mode] src... dest`, each source a step of its own.
fn copies(keyword: &str, rest: &str, line: usize) -> Result<Vec<Instruction>, String> {
    let mut parts = match serde_json::from_str::<Vec<String>>(rest.trim()) {
        Ok(parts) => parts,
        Err(_) => words(rest)?,
    };
    let (mut owner, mut mode) = (String::new(), String::new());
    while parts.first().is_some_and(|p| p.starts_with("--")) {
        let flag = parts.remove(0);
        let (name, value) = flag.split_once('=').unwrap_or((&flag, ""));
        match name {
            // The owner's group is the owner's own, as the SDK's `copy` does.
            "--chown" => owner = value.split(':').next().unwrap_or_default().to_string(),
            "--chmod" => mode = value.to_string(),
            "--from" => {
                return Err(format!(
                    "{keyword} --from: multi-stage builds are not supported"
                ));
            }
            other => return Err(format!("{keyword} {other} is not supported")),
        }
    }
    let Some(dest) = parts.pop().filter(|_| !parts.is_empty()) else {
        return Err(format!("{keyword} needs a source and a destination"));
    };
    parts
        .into_iter()
        .map(|src| {
            if src.contains("://") {
                return Err(format!("{keyword} of a URL ({src}) is not supported"));
            }
            Ok(Instruction::Copy {
                src,
                dest: dest.clone(),
                owner: owner.clone(),
                mode: mode.clone(),
                line,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dockerfile_becomes_the_sdk_steps() {
        let recipe = parse(
            "# comment\nFROM e2bdev/base\nENV A=1 B=\"two words\"\nRUN apt-get update && \\\n  \
             echo done\nCOPY --chown=user:user a.txt site/ /srv/\nWORKDIR /srv\n\
             CMD [\"python3\", \"-m\", \"http.server\"]\nEXPOSE 8000\n",
        )
        .unwrap();
        assert_eq!(recipe.from, "e2bdev/base");
        assert_eq!(recipe.start_cmd.as_deref(), Some("python3 -m http.server"));
        let envs = BTreeMap::from([("A".into(), "1".into()), ("B".into(), "two words".into())]);
        let copy = |src: &str| Instruction::Copy {
            src: src.into(),
            dest: "/srv/".into(),
            owner: "user".into(),
            mode: String::new(),
            line: 6,
        };
        assert_eq!(
            recipe.steps,
            vec![
                Instruction::User("root".into()),
                Instruction::Workdir("/".into()),
                Instruction::Env(envs),
                Instruction::Run("apt-get update && echo done".into()),
                copy("a.txt"),
                copy("site/"),
                Instruction::Workdir("/srv".into()),
                Instruction::User("user".into()),
            ]
        );
    }

    #[test]
    fn env_forms_and_args() {
        let recipe = parse("ARG V=1\nFROM base\nENV NAME a b c\nARG EMPTY\n").unwrap();
        assert_eq!(
            recipe.steps[2],
            Instruction::Env([("V".into(), "1".into())].into())
        );
        assert_eq!(
            recipe.steps[3],
            Instruction::Env([("NAME".into(), "a b c".into())].into())
        );
        assert_eq!(
            recipe.steps[4],
            Instruction::Env([("EMPTY".into(), String::new())].into())
        );
    }

    #[test]
    fn what_is_not_supported_names_its_line() {
        let err = |text: &str| parse(text).unwrap_err();
        assert!(
            err("FROM base\n\nHEALTHCHECK CMD true\n")
                .starts_with("line 3: HEALTHCHECK is not supported")
        );
        assert_eq!(
            err("FROM base\nFROM base\n"),
            "line 2: multi-stage Dockerfiles are not supported"
        );
        assert!(err("FROM base\nCOPY --from=b /x /y\n").starts_with("line 2: COPY --from"));
        assert!(err("FROM base\nADD https://example.com/x /x\n").contains("URL"));
        assert!(err("RUN true\n").contains("before FROM"));
        assert_eq!(err("# nothing\n"), "the Dockerfile has no FROM");
    }
}
