# The code-interpreter-v1 template's IPython kernel configuration (root's default profile), as
# E2B's template sets it: tracebacks without ANSI colours (the SDKs show them as plain text) and
# results of long lists or dicts printed whole instead of cut at 1000 items.
c = get_config()  # noqa: F821 (IPython provides it when it loads this file)
c.InteractiveShell.colors = "NoColor"
c.PlainTextFormatter.max_seq_length = 0
