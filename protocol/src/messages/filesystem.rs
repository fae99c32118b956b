//! `filesystem.Filesystem`: Stat, MakeDir, Move, ListDir, Remove, WatchDir (server stream) and
//! the polling watcher RPCs.

use super::timestamp::Timestamp;
use super::{Empty, proto_enum, proto_message, proto_oneof};
use crate::message::kinds::*;
use crate::prelude::*;

/// RPC paths (`/filesystem.Filesystem/<Method>`).
pub mod path {
    pub const STAT: &str = "/filesystem.Filesystem/Stat";
    pub const MAKE_DIR: &str = "/filesystem.Filesystem/MakeDir";
    pub const MOVE: &str = "/filesystem.Filesystem/Move";
    pub const LIST_DIR: &str = "/filesystem.Filesystem/ListDir";
    pub const REMOVE: &str = "/filesystem.Filesystem/Remove";
    pub const WATCH_DIR: &str = "/filesystem.Filesystem/WatchDir";
    pub const CREATE_WATCHER: &str = "/filesystem.Filesystem/CreateWatcher";
    pub const GET_WATCHER_EVENTS: &str = "/filesystem.Filesystem/GetWatcherEvents";
    pub const REMOVE_WATCHER: &str = "/filesystem.Filesystem/RemoveWatcher";
}

proto_enum! {
    pub enum FileType {
        0 "FILE_TYPE_UNSPECIFIED" Unspecified,
        1 "FILE_TYPE_FILE" File,
        2 "FILE_TYPE_DIRECTORY" Directory,
        3 "FILE_TYPE_SYMLINK" Symlink,
    }
}

proto_enum! {
    pub enum EventType {
        0 "EVENT_TYPE_UNSPECIFIED" Unspecified,
        1 "EVENT_TYPE_CREATE" Create,
        2 "EVENT_TYPE_WRITE" Write,
        3 "EVENT_TYPE_REMOVE" Remove,
        4 "EVENT_TYPE_RENAME" Rename,
        5 "EVENT_TYPE_CHMOD" Chmod,
    }
}

proto_message! {
    /// Everything envd reports about a filesystem entry.
    pub struct EntryInfo {
        1 "name" "name" name: String = Str,
        2 "type" "type" file_type: FileType = Enum<FileType>,
        3 "path" "path" path: String = Str,
        4 "size" "size" size: i64 = I64,
        /// Permission bits only (`& 0o777`).
        5 "mode" "mode" mode: u32 = U32,
        /// Go-style mode string, e.g. `-rw-r--r--`, `drwxr-xr-x`, `Lrwxrwxrwx`.
        6 "permissions" "permissions" permissions: String = Str,
        7 "owner" "owner" owner: String = Str,
        8 "group" "group" group: String = Str,
        9 "modified_time" "modifiedTime" modified_time: Option<Timestamp> = Msg<Timestamp>,
        /// Set for symlinks only: the fully resolved target.
        10 "symlink_target" "symlinkTarget" symlink_target: Option<String> = OptStr,
        /// User metadata from `user.e2b.*` xattrs, prefix stripped.
        11 "metadata" "metadata" metadata: crate::StringMap = StrMap,
    }
}

proto_message! {
    /// A request naming one path (Stat, MakeDir, Remove).
    pub struct PathRequest {
        1 "path" "path" path: String = Str,
    }
}

pub type StatRequest = PathRequest;
pub type MakeDirRequest = PathRequest;
pub type RemoveRequest = PathRequest;
pub type RemoveResponse = Empty;

proto_message! {
    /// A response carrying one entry (Stat, MakeDir, Move).
    pub struct EntryResponse {
        1 "entry" "entry" entry: Option<EntryInfo> = Msg<EntryInfo>,
    }
}

pub type StatResponse = EntryResponse;
pub type MakeDirResponse = EntryResponse;
pub type MoveResponse = EntryResponse;

proto_message! {
    pub struct MoveRequest {
        1 "source" "source" source: String = Str,
        2 "destination" "destination" destination: String = Str,
    }
}

proto_message! {
    /// Lists `path` down to `depth` levels (0 means 1).
    pub struct ListDirRequest {
        1 "path" "path" path: String = Str,
        2 "depth" "depth" depth: u32 = U32,
    }
}

proto_message! {
    pub struct ListDirResponse {
        1 "entries" "entries" entries: Vec<EntryInfo> = RepMsg<EntryInfo>,
    }
}

proto_message! {
    /// Watches a directory (`WatchDirRequest` and `CreateWatcherRequest` share this shape).
    pub struct WatchDirRequest {
        1 "path" "path" path: String = Str,
        2 "recursive" "recursive" recursive: bool = Bool,
        3 "include_entry" "includeEntry" include_entry: bool = Bool,
        4 "allow_network_mounts" "allowNetworkMounts" allow_network_mounts: bool = Bool,
    }
}

pub type CreateWatcherRequest = WatchDirRequest;

proto_message! {
    /// One change below a watched directory; `name` is relative to it.
    pub struct FilesystemEvent {
        1 "name" "name" name: String = Str,
        2 "type" "type" event_type: EventType = Enum<EventType>,
        3 "entry" "entry" entry: Option<EntryInfo> = Msg<EntryInfo>,
    }
}

proto_oneof! {
    /// One message of a WatchDir stream.
    pub struct WatchDirResponse { event }
    pub enum WatchEvent {
        1 "start" "start" Start(Empty) = Inline<Empty>,
        2 "filesystem" "filesystem" Filesystem(FilesystemEvent) = Inline<FilesystemEvent>,
        3 "keepalive" "keepalive" Keepalive(Empty) = Inline<Empty>,
    }
}

proto_message! {
    /// Names a polling watcher (CreateWatcher's answer, GetWatcherEvents, RemoveWatcher).
    pub struct WatcherId {
        1 "watcher_id" "watcherId" watcher_id: String = Str,
    }
}

pub type CreateWatcherResponse = WatcherId;
pub type GetWatcherEventsRequest = WatcherId;
pub type RemoveWatcherRequest = WatcherId;
pub type RemoveWatcherResponse = Empty;

proto_message! {
    pub struct GetWatcherEventsResponse {
        1 "events" "events" events: Vec<FilesystemEvent> = RepMsg<FilesystemEvent>,
    }
}

impl WatchDirResponse {
    pub fn new(event: WatchEvent) -> Self {
        WatchDirResponse { event: Some(event) }
    }
}

#[cfg(test)]
mod tests;
