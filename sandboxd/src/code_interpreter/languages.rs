//! The languages the server has kernels for: the names the SDKs send, how each language's
//! kernel is started and reached, and the code that sets and removes env vars inside it (each
//! kernel's own language, since the variables must change the kernel process itself).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Every language a context can have, as listed in errors.
pub const LANGUAGES: &[&str] = &["python", "javascript", "typescript", "bash", "r"];

/// The SDKs' language names: none means Python; short names (and Deno, the TypeScript
/// kernel's name in E2B's template) are accepted.
pub fn normalize_language(language: Option<&str>) -> String {
    let language = language.unwrap_or("").trim().to_lowercase();
    match language.as_str() {
        "" => "python".into(),
        "js" => "javascript".into(),
        "ts" | "deno" => "typescript".into(),
        _ => language,
    }
}

/// How the server reaches a kernel's five channels.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Channels {
    /// Unix sockets in the server's private directory (Jupyter's `ipc` transport).
    Ipc,
    /// TCP on a loopback address of the server's choosing other than 127.0.0.1, for a kernel
    /// that speaks no `ipc` (Deno's): sandboxd's proxy only ever connects to 127.0.0.1.
    PrivateLoopbackTcp,
}

pub struct KernelCommand {
    pub argv: Vec<String>,
    pub env: Vec<(&'static str, &'static str)>,
    pub channels: Channels,
    /// How long the kernel may go on publishing a cell's output after reporting it idle.
    pub late_output: Option<Duration>,
}

/// The command that starts `language`'s kernel with `connection_file`.
pub fn kernel_command(language: &str, connection_file: &Path) -> Option<KernelCommand> {
    let file = connection_file.display().to_string();
    // Deno's kernel sometimes sends a cell's result after its idle status; 100 ms covers what
    // was seen (a few ms late) with room on a loaded machine.
    let mut late_output = None;
    let (argv, env, channels): (Vec<&str>, _, _) = match language {
        "python" => (
            vec!["python3", "-m", "ipykernel_launcher", "-f", &file],
            vec![],
            Channels::Ipc,
        ),
        "bash" => (
            vec!["python3", "-m", "bash_kernel", "-f", &file],
            vec![],
            Channels::Ipc,
        ),
        // Deno's kernel runs JavaScript and TypeScript alike; colours would end up in
        // results and tracebacks as escape codes.
        "javascript" | "typescript" => {
            late_output = Some(Duration::from_millis(100));
            (
                vec!["deno", "jupyter", "--kernel", "--conn", &file],
                vec![("NO_COLOR", "1")],
                Channels::PrivateLoopbackTcp,
            )
        }
        // IRkernel's kernelspec command.
        "r" => (
            vec!["R", "--slave", "-e", "IRkernel::main()", "--args", &file],
            vec![],
            Channels::Ipc,
        ),
        _ => return None,
    };
    Some(KernelCommand {
        argv: argv.into_iter().map(String::from).collect(),
        env,
        channels,
        late_output,
    })
}

/// Code in `language` that sets `set` in the kernel process's environment and removes `unset`.
/// Values go in as JSON string literals, which Python, JavaScript and R all read as the same
/// string, so no value can break out of its quotes; Bash gets single-quoted words. Errs (with
/// the reason) for a name the language cannot set.
pub fn env_code(
    language: &str,
    set: &HashMap<String, String>,
    unset: &[String],
) -> Result<String, String> {
    Ok(match language {
        "python" => format!(
            "__import__('os').environ.update({})\n[__import__('os').environ.pop(k, None) for k in {}]",
            json(set),
            json(unset)
        ),
        "javascript" | "typescript" => format!(
            "{{ for (const [k, v] of Object.entries({})) Deno.env.set(k, v);\n\
             for (const k of {}) Deno.env.delete(k); }}",
            json(set),
            json(unset)
        ),
        "r" => {
            let (names, values): (Vec<&String>, Vec<&String>) = set.iter().unzip();
            format!(
                "invisible(if ({n} > 0) do.call(Sys.setenv, as.list(setNames(c({}), c({})))))\n\
                 invisible(if ({u} > 0) Sys.unsetenv(c({})))",
                r_strings(&values),
                r_strings(&names),
                r_strings(&unset.iter().collect::<Vec<_>>()),
                n = set.len(),
                u = unset.len(),
            )
        }
        "bash" => {
            let mut lines = Vec::new();
            for (name, value) in set {
                check_shell_name(name)?;
                lines.push(format!("export {name}={}", shell_quote(value)));
            }
            for name in unset {
                check_shell_name(name)?;
                lines.push(format!("unset -v {name}"));
            }
            lines.join("\n")
        }
        _ => return Err(format!("no kernel for language {language:?}")),
    })
}

/// `value` as JSON, which for strings, lists of strings and string maps is also a Python and
/// JavaScript literal.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// R's arguments for `c(...)`: each a JSON string literal (also an R string literal).
fn r_strings(strings: &[&String]) -> String {
    strings.iter().map(json).collect::<Vec<_>>().join(", ")
}

/// Bash takes only identifiers as variable names; anything else would be parsed as code.
fn check_shell_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!("{name:?} is not a name Bash can export"))
    }
}

/// `value` as one single-quoted Bash word (a `'` closes, is escaped, and reopens).
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_refuses_names_that_would_be_code_and_quotes_values() {
        let set = HashMap::from([("A".to_string(), "it's $(x)".to_string())]);
        assert_eq!(
            env_code("bash", &set, &[]).unwrap(),
            r"export A='it'\''s $(x)'"
        );
        let bad = HashMap::from([("A;rm -rf /".to_string(), "v".to_string())]);
        assert!(env_code("bash", &bad, &[]).is_err());
        assert!(env_code("bash", &HashMap::new(), &["1A".to_string()]).is_err());
    }

    #[test]
    fn names_map_as_the_sdks_send_them() {
        assert_eq!(normalize_language(None), "python");
        assert_eq!(normalize_language(Some(" JS ")), "javascript");
        assert_eq!(normalize_language(Some("deno")), "typescript");
        assert_eq!(normalize_language(Some("R")), "r");
        for language in LANGUAGES {
            assert!(kernel_command(language, Path::new("/c.json")).is_some());
        }
    }
}
