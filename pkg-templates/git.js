// `sandbox.git`: git run inside the sandbox through `commands.run`, with e2b 2.51's commands,
// option handling, output parsing and error classification (GitAuthError, GitUpstreamError).
// Loaded on the first git call (`Git` in sandbox.js forwards here), so `import { Sandbox }`
// does not pay for it.
import { CommandExitError, GitAuthError, GitUpstreamError, InvalidArgumentError } from '%ERRORS_MODULE%';

import { shellQuote } from './internal.js';

// Git must fail rather than wait for a password on a terminal nobody reads.
const DEFAULT_GIT_ENV = { GIT_TERMINAL_PROMPT: '0' };

const parseUrl = (url) => {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
};
const isHttp = (url) => url.protocol === 'http:' || url.protocol === 'https:';

function withCredentials(url, username, password) {
  if (!username && !password) return url;
  if (!username || !password) throw new InvalidArgumentError('Both username and password are required when using Git credentials.');
  const parsed = parseUrl(url);
  if (!parsed) throw new InvalidArgumentError(`Invalid Git URL: ${url}`);
  if (!isHttp(parsed)) throw new InvalidArgumentError('Only http(s) Git URLs support username/password credentials.');
  parsed.username = username;
  parsed.password = password;
  return parsed.toString();
}

function stripCredentials(url) {
  const parsed = parseUrl(url);
  if (!parsed || !isHttp(parsed) || (!parsed.username && !parsed.password)) return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

/** The directory `git clone` would make for `url` (its last path segment without `.git`). */
function repoDirOf(url) {
  const last = parseUrl(url)?.pathname.replace(/\/+$/, '').split('/').pop();
  if (!last) return undefined;
  return last.endsWith('.git') ? last.slice(0, -4) : last;
}

const gitCommand = (args, repoPath) => ['git', ...(repoPath ? ['-C', repoPath] : []), ...args].map(shellQuote).join(' ');

function pushArgs(remoteName, { remote, branch, setUpstream }) {
  const target = remoteName ?? remote;
  return ['push', ...(setUpstream && target ? ['--set-upstream'] : []), ...(target ? [target] : []), ...(branch ? [branch] : [])];
}

/** `ahead 2, behind 1` (the bracket of `## branch...upstream [..]`). */
function aheadBehind(segment) {
  const count = (word) => (segment?.includes(word) ? Number.parseInt(segment.split(word)[1].split(',')[0].trim(), 10) : 0);
  return { ahead: count('ahead'), behind: count('behind') };
}

function normalizeBranchName(name) {
  if (name.startsWith('HEAD (detached at ')) return name.replace('HEAD (detached at ', '').replace(/\)$/, '');
  return name.replace('HEAD (no branch)', 'HEAD').replace('No commits yet on ', '').replace('Initial commit on ', '');
}

const STATUS_BY_PRECEDENCE = [['U', 'conflict'], ['R', 'renamed'], ['C', 'copied'], ['D', 'deleted'], ['A', 'added'], ['M', 'modified'], ['T', 'typechange'], ['?', 'untracked']];
const fileStatusOf = (indexStatus, workingStatus) =>
  STATUS_BY_PRECEDENCE.find(([code]) => code === indexStatus || code === workingStatus)?.[1] ?? 'unknown';

/** `git status --porcelain=1 -b` as e2b's `GitStatus`. */
function parseStatus(output) {
  const lines = output.split('\n').map((line) => line.replace(/\r$/, '')).filter((line) => line.trim().length > 0);
  const status = { currentBranch: undefined, upstream: undefined, ahead: 0, behind: 0, detached: false };
  const fileStatus = [];
  if (lines[0]?.startsWith('## ')) {
    const info = lines[0].slice(3);
    const bracket = info.indexOf(' [');
    const branchPart = bracket === -1 ? info : info.slice(0, bracket);
    const branch = normalizeBranchName(branchPart);
    if (branchPart.includes('detached') || branch.startsWith('HEAD')) status.detached = true;
    else if (branch.includes('...')) {
      const [current, upstream] = branch.split('...');
      status.currentBranch = current || undefined;
      status.upstream = upstream || undefined;
    } else status.currentBranch = branch || undefined;
    Object.assign(status, aheadBehind(bracket === -1 ? undefined : info.slice(bracket + 2, -1)));
  }
  for (const line of lines.slice(1)) {
    if (line.startsWith('?? ')) {
      fileStatus.push({ name: line.slice(3), status: 'untracked', indexStatus: '?', workingTreeStatus: '?', staged: false });
    } else if (line.length >= 3) {
      const [indexStatus, workingTreeStatus] = line;
      const [first, ...renamedTo] = line.slice(3).split(' -> ');
      fileStatus.push({
        name: renamedTo.length ? renamedTo.join(' -> ') : first,
        status: fileStatusOf(indexStatus, workingTreeStatus),
        indexStatus,
        workingTreeStatus,
        staged: indexStatus !== ' ' && indexStatus !== '?',
        ...(renamedTo.length ? { renamedFrom: first } : {}),
      });
    }
  }
  const count = (keep) => fileStatus.filter(keep).length;
  const totalCount = fileStatus.length;
  const stagedCount = count((f) => f.staged);
  const untrackedCount = count((f) => f.status === 'untracked');
  const conflictCount = count((f) => f.status === 'conflict');
  return {
    ...status,
    fileStatus,
    isClean: totalCount === 0,
    hasChanges: totalCount > 0,
    hasStaged: stagedCount > 0,
    hasUntracked: untrackedCount > 0,
    hasConflicts: conflictCount > 0,
    totalCount,
    stagedCount,
    unstagedCount: totalCount - stagedCount,
    untrackedCount,
    conflictCount,
  };
}

/** `git branch --format=%(refname:short)<TAB>%(HEAD)` as `{ branches, currentBranch }`. */
function parseBranches(output) {
  const branches = [];
  let currentBranch;
  for (const line of output.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [name, head] = line.split('\t');
    branches.push(name);
    if (head === '*') currentBranch = name;
  }
  return { branches, currentBranch };
}

const outputMentions = (err, snippets) => {
  if (!(err instanceof CommandExitError)) return false;
  const text = `${err.stderr}\n${err.stdout}`.toLowerCase();
  return snippets.some((snippet) => text.includes(snippet));
};
const isAuthFailure = (err) => outputMentions(err, [
  'authentication failed', 'terminal prompts disabled', 'could not read username', 'invalid username or password',
  'access denied', 'permission denied', 'not authorized',
]);
const isMissingUpstream = (err) => outputMentions(err, [
  'has no upstream branch', 'no upstream branch', 'no upstream configured', 'no tracking information for the current branch',
  'no tracking information', 'set the remote as upstream', 'set the upstream branch', 'please specify which branch you want to merge with',
]);

const authError = (action, missingPassword) => new GitAuthError(missingPassword
  ? `Git ${action} requires a password/token for private repositories.`
  : `Git ${action} requires credentials for private repositories.`);
const upstreamError = (action) => new GitUpstreamError(action === 'push'
  ? 'Git push failed because no upstream branch is configured. Set upstream once with { setUpstream: true } (and optional remote/branch), or pass remote and branch explicitly.'
  : 'Git pull failed because no upstream branch is configured. Pass remote and branch explicitly, or set upstream once (push with { setUpstream: true } or run: git branch --set-upstream-to=origin/<branch> <branch>).');

/** Rethrows `err` as a GitAuthError or GitUpstreamError when git's output says it is one. */
function classify(err, action, username, password, upstreamToo) {
  if (isAuthFailure(err)) throw authError(action, Boolean(username) && !password);
  if (upstreamToo && isMissingUpstream(err)) throw upstreamError(action);
  throw err;
}

function scopeFlag(scope) {
  if (scope !== 'global' && scope !== 'local' && scope !== 'system') throw new InvalidArgumentError('Git config scope must be one of: global, local, system.');
  return `--${scope}`;
}

function repoPathForScope(scope, path) {
  if (scope !== 'local') return undefined;
  if (!path) throw new InvalidArgumentError('A repository path is required when using scope "local".');
  return path;
}

const requireUsername = (password, username, action) => {
  if (password && !username) throw new InvalidArgumentError(`Username is required when using a password or token for git ${action}.`);
};

const trimmedOrUndefined = (result) => result.stdout.trim() || undefined;

/** The methods of `Git` (sandbox.js); `this` is the `Git` instance, with its `commands`. */
export const gitMethods = {
  async clone(url, opts) {
    const { username, password, branch, depth, path, dangerouslyStoreCredentials, ...rest } = opts ?? {};
    requireUsername(password, username, 'clone');
    try {
      const urlWithCreds = username && password ? withCredentials(url, username, password) : url;
      const sanitizedUrl = stripCredentials(urlWithCreds);
      const stripInlineCreds = !dangerouslyStoreCredentials && sanitizedUrl !== urlWithCreds;
      const repoPath = stripInlineCreds ? path ?? repoDirOf(url) : path;
      if (stripInlineCreds && !repoPath) throw new InvalidArgumentError('A destination path is required when using credentials without storing them.');
      const args = ['clone', urlWithCreds];
      if (branch) args.push('--branch', branch, '--single-branch');
      if (depth) args.push('--depth', depth.toString());
      if (repoPath) args.push(repoPath);
      const result = await this.runGit(args, undefined, rest);
      if (stripInlineCreds) await this.runGit(['remote', 'set-url', 'origin', sanitizedUrl], repoPath, rest);
      return result;
    } catch (err) {
      return classify(err, 'clone', username, password, false);
    }
  },
  async init(path, opts) {
    const { bare, initialBranch, ...rest } = opts ?? {};
    const args = ['init'];
    if (initialBranch) args.push('--initial-branch', initialBranch);
    if (bare) args.push('--bare');
    return this.runGit([...args, path], undefined, rest);
  },
  async remoteAdd(path, name, url, opts) {
    if (!name || !url) throw new InvalidArgumentError('Both remote name and URL are required to add a git remote.');
    const { fetch, overwrite, ...rest } = opts ?? {};
    const addArgs = ['remote', 'add', ...(fetch ? ['-f'] : []), name, url];
    if (!overwrite) return this.runGit(addArgs, path, rest);
    let cmd = `${gitCommand(addArgs, path)} || ${gitCommand(['remote', 'set-url', name, url], path)}`;
    if (fetch) cmd = `(${cmd}) && ${gitCommand(['fetch', name], path)}`;
    return this.runShell(cmd, rest);
  },
  async remoteGet(path, name, opts) {
    if (!name) throw new InvalidArgumentError('Remote name is required.');
    return trimmedOrUndefined(await this.runShell(`${gitCommand(['remote', 'get-url', name], path)} || true`, opts));
  },
  async status(path, opts) {
    return parseStatus((await this.runGit(['status', '--porcelain=1', '-b'], path, opts)).stdout);
  },
  async branches(path, opts) {
    return parseBranches((await this.runGit(['branch', '--format=%(refname:short)\t%(HEAD)'], path, opts)).stdout);
  },
  async createBranch(path, branch, opts) {
    return this.runGit(['checkout', '-b', branch], path, opts);
  },
  async checkoutBranch(path, branch, opts) {
    return this.runGit(['checkout', branch], path, opts);
  },
  async deleteBranch(path, branch, opts) {
    const { force, ...rest } = opts ?? {};
    return this.runGit(['branch', force ? '-D' : '-d', branch], path, rest);
  },
  async add(path, opts) {
    const { files, all = true, ...rest } = opts ?? {};
    const args = !files || files.length === 0 ? [all ? '-A' : '.'] : ['--', ...files];
    return this.runGit(['add', ...args], path, rest);
  },
  async commit(path, message, opts) {
    const { authorName, authorEmail, allowEmpty, ...rest } = opts ?? {};
    const author = [...(authorName ? ['-c', `user.name=${authorName}`] : []), ...(authorEmail ? ['-c', `user.email=${authorEmail}`] : [])];
    return this.runGit([...author, 'commit', '-m', message, ...(allowEmpty ? ['--allow-empty'] : [])], path, rest);
  },
  async reset(path, opts) {
    const { mode, target, paths, ...rest } = opts ?? {};
    const modes = ['soft', 'mixed', 'hard', 'merge', 'keep'];
    if (mode && !modes.includes(mode)) throw new InvalidArgumentError(`Reset mode must be one of ${modes.join(', ')}.`);
    const args = ['reset'];
    if (mode) args.push(`--${mode}`);
    if (target) args.push(target);
    if (paths?.length > 0) args.push('--', ...paths);
    return this.runGit(args, path, rest);
  },
  async restore(path, opts) {
    const { paths, staged, worktree, source, ...rest } = opts;
    if (!paths || paths.length === 0) throw new InvalidArgumentError('At least one path is required.');
    // Unset flags follow the set one: neither means the worktree, only `staged: true` means
    // the index alone, only `worktree` leaves the index out.
    let [restoreStaged, restoreWorktree] = [staged, worktree];
    if (staged === undefined && worktree === undefined) restoreWorktree = true;
    else if (staged === true && worktree === undefined) restoreWorktree = false;
    else if (staged === undefined) restoreStaged = false;
    if (restoreStaged === false && restoreWorktree === false) throw new InvalidArgumentError('At least one of staged or worktree must be true.');
    const args = ['restore'];
    if (restoreWorktree) args.push('--worktree');
    if (restoreStaged) args.push('--staged');
    if (source) args.push('--source', source);
    return this.runGit([...args, '--', ...paths], path, rest);
  },
  async push(path, opts) {
    const { remote, branch, setUpstream = true, username, password, ...rest } = opts ?? {};
    requireUsername(password, username, 'push');
    if (username && password) {
      const remoteName = await this.resolveRemoteName(path, remote, rest);
      return this.withRemoteCredentials(path, remoteName, username, password, rest,
        () => this.runGit(pushArgs(remoteName, { remote, branch, setUpstream }), path, rest));
    }
    try {
      return await this.runGit(pushArgs(undefined, { remote, branch, setUpstream }), path, rest);
    } catch (err) {
      return classify(err, 'push', username, password, true);
    }
  },
  async pull(path, opts) {
    const { remote, branch, username, password, ...rest } = opts ?? {};
    requireUsername(password, username, 'pull');
    if (!remote && !branch && !(await this.hasUpstream(path, rest))) throw upstreamError('pull');
    const args = (remoteName) => ['pull', ...((remoteName ?? remote) ? [remoteName ?? remote] : []), ...(branch ? [branch] : [])];
    if (username && password) {
      const remoteName = await this.resolveRemoteName(path, remote, rest);
      return this.withRemoteCredentials(path, remoteName, username, password, rest, () => this.runGit(args(remoteName), path, rest));
    }
    try {
      return await this.runGit(args(), path, rest);
    } catch (err) {
      return classify(err, 'pull', username, password, true);
    }
  },
  async setConfig(key, value, opts) {
    if (!key) throw new InvalidArgumentError('Git config key is required.');
    const scope = opts?.scope ?? 'global';
    const flag = scopeFlag(scope);
    return this.runGit(['config', flag, key, value], repoPathForScope(scope, opts?.path), opts);
  },
  async getConfig(key, opts) {
    if (!key) throw new InvalidArgumentError('Git config key is required.');
    const scope = opts?.scope ?? 'global';
    const flag = scopeFlag(scope);
    const cmd = `${gitCommand(['config', flag, '--get', key], repoPathForScope(scope, opts?.path))} || true`;
    return trimmedOrUndefined(await this.runShell(cmd, opts));
  },
  async dangerouslyAuthenticate(opts) {
    const { username, password, host, protocol, ...rest } = opts;
    if (!username || !password) throw new InvalidArgumentError('Both username and password are required to authenticate git.');
    const credential = [`protocol=${(protocol ?? 'https').trim()}`, `host=${(host ?? 'github.com').trim()}`, `username=${username}`, `password=${password}`, '', ''].join('\n');
    await this.runGit(['config', '--global', 'credential.helper', 'store'], undefined, rest);
    return this.runShell(`printf %s ${shellQuote(credential)} | ${gitCommand(['credential', 'approve'])}`, rest);
  },
  async configureUser(name, email, opts) {
    if (!name || !email) throw new InvalidArgumentError('Both name and email are required.');
    const configOpts = { ...opts, scope: opts?.scope ?? 'global' };
    await this.setConfig('user.name', name, configOpts);
    return this.setConfig('user.email', email, configOpts);
  },
  async runGit(args, repoPath, opts) {
    return this.runShell(gitCommand(args, repoPath), opts);
  },
  async runShell(cmd, opts) {
    const { envs, ...rest } = opts ?? {};
    return this.commands.run(cmd, { ...rest, envs: { ...DEFAULT_GIT_ENV, ...envs } });
  },
  async getRemoteUrl(path, remote, opts) {
    const url = (await this.runGit(['remote', 'get-url', remote], path, opts)).stdout.trim();
    if (!url) throw new InvalidArgumentError(`Remote "${remote}" URL not found in repository.`);
    return url;
  },
  async resolveRemoteName(path, remote, opts) {
    if (remote) return remote;
    const remotes = (await this.runGit(['remote'], path, opts)).stdout.split('\n').map((line) => line.trim()).filter(Boolean);
    if (remotes.length === 1) return remotes[0];
    throw new InvalidArgumentError('Remote is required when using username/password and the repository has multiple remotes.');
  },
  /** Runs `operation` with the credentials in `remote`'s URL, then puts the URL back. */
  async withRemoteCredentials(path, remote, username, password, opts, operation) {
    const originalUrl = await this.getRemoteUrl(path, remote, opts);
    await this.runGit(['remote', 'set-url', remote, withCredentials(originalUrl, username, password)], path, opts);
    const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error, failed: true }));
    const outcome = await settle(operation());
    const restored = await settle(this.runGit(['remote', 'set-url', remote, originalUrl], path, opts));
    const failure = [outcome, restored].find((o) => o.failed);
    if (failure) throw failure.error;
    return outcome.value;
  },
  async hasUpstream(path, opts) {
    try {
      return (await this.runGit(['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{u}'], path, opts)).stdout.trim().length > 0;
    } catch {
      return false;
    }
  },
};
