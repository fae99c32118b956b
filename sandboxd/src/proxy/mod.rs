//! Sandbox traffic routing: `E2b-Sandbox-Id`/`E2b-Sandbox-Port` headers or
//! `<port>-<sandboxID>.<domain>` hosts, forwarded into the sandbox's network namespace.
