//! A FUSE filesystem that loses what was not synced when the power is cut, for crash tests
//! (the method of Jepsen's LazyFS, on a tree of directories held in memory).
//!
//! Every file has two contents: what readers see (the page cache: every write lands there)
//! and what is on "disk" (set to the former by `fsync` of that file, and only by it). A power
//! cut ([`Lazy::cut`]) turns every file back into its disk content and fails every later
//! operation with EIO, as a machine that lost power would; [`Lazy::disk`] then writes the disk
//! contents into a real directory to restart from. Creating, renaming and removing files is
//! durable at once (a simplification in the filesystem's favour: only file data can be lost).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

const TTL: Duration = Duration::ZERO;

#[derive(Default)]
struct File {
    name: String,
    /// The directory it is in (1: the root).
    parent: u64,
    /// A directory (it has no contents of its own).
    dir: bool,
    /// What readers see.
    cache: Vec<u8>,
    /// What survives a power cut.
    disk: Vec<u8>,
}

#[derive(Default)]
struct State {
    files: BTreeMap<u64, File>,
    next: u64,
    off: bool,
    /// fsyncs of files, to show the receiver syncs at all.
    syncs: u64,
    /// Who every file belongs to (root unless [`Lazy::owned_by`]).
    owner: (u32, u32),
}

/// The handle the test keeps: cut the power, read the disk.
#[derive(Clone, Default)]
pub struct Lazy(Arc<Mutex<State>>);

impl Lazy {
    /// Cuts the power: every file goes back to what was synced; later operations fail.
    pub fn cut(&self) {
        let mut state = self.0.lock().unwrap();
        state.off = true;
        for file in state.files.values_mut() {
            file.cache = file.disk.clone();
        }
    }

    /// Writes what is on the disk into `dir`, one real file per file, one real directory per
    /// directory.
    pub fn disk(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let state = self.0.lock().unwrap();
        let path_of = |mut ino: u64| {
            let mut parts = Vec::new();
            while let Some(file) = state.files.get(&ino) {
                parts.push(file.name.clone());
                ino = file.parent;
            }
            parts
                .iter()
                .rev()
                .fold(dir.to_owned(), |path, part| path.join(part))
        };
        for (ino, file) in &state.files {
            if file.dir {
                std::fs::create_dir_all(path_of(*ino)).unwrap();
            }
        }
        for (ino, file) in &state.files {
            if !file.dir {
                std::fs::write(path_of(*ino), &file.disk).unwrap();
            }
        }
    }

    /// Files and directories belong to `uid` and `gid` (a server that runs as another user
    /// than the test), and the mount admits other users.
    pub fn owned_by(&self, uid: u32, gid: u32) {
        self.0.lock().unwrap().owner = (uid, gid);
    }

    /// Syncs every file (what a test sets up before the load).
    pub fn sync_all(&self) {
        for file in self.0.lock().unwrap().files.values_mut() {
            file.disk = file.cache.clone();
        }
    }

    pub fn syncs(&self) -> u64 {
        self.0.lock().unwrap().syncs
    }

    /// Mounts the filesystem at `mountpoint`, served by a background thread.
    pub fn mount(&self, mountpoint: &Path) -> std::io::Result<fuser::BackgroundSession> {
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            fuser::MountOption::FSName("lazyfs".into()),
            fuser::MountOption::DefaultPermissions,
        ];
        if self.0.lock().unwrap().owner != (0, 0) {
            config.acl = fuser::SessionACL::All;
        }
        config.n_threads = Some(2);
        fuser::spawn_mount(Fs(self.clone()), mountpoint, &config)
    }
}

struct Fs(Lazy);

fn attr(ino: u64, file: Option<&File>, (uid, gid): (u32, u32)) -> FileAttr {
    let now = SystemTime::now();
    let regular = file.is_some_and(|f| !f.dir);
    FileAttr {
        ino: INodeNo(ino),
        size: file.map_or(0, |f| f.cache.len() as u64),
        blocks: file.map_or(0, |f| f.cache.len() as u64 / 512 + 1),
        atime: now,
        mtime: now,
        ctime: now,
        crtime: now,
        kind: if regular {
            FileType::RegularFile
        } else {
            FileType::Directory
        },
        perm: if regular { 0o600 } else { 0o700 },
        nlink: if regular { 1 } else { 2 },
        uid,
        gid,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

impl Fs {
    /// The state, or EIO once the power is off.
    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>, Errno> {
        let state = self.0.0.lock().unwrap();
        if state.off {
            Err(Errno::EIO)
        } else {
            Ok(state)
        }
    }

    fn find(state: &State, parent: INodeNo, name: &OsStr) -> Option<u64> {
        let name = name.to_str()?;
        state
            .files
            .iter()
            .find(|(_, f)| f.parent == parent.0 && f.name == name)
            .map(|(ino, _)| *ino)
    }

    /// Whether `ino` is a directory (the root or one made).
    fn is_dir(state: &State, ino: INodeNo) -> bool {
        ino == INodeNo::ROOT || state.files.get(&ino.0).is_some_and(|f| f.dir)
    }

    /// A new entry in `parent`, or the one of that name already there.
    fn make(state: &mut State, parent: INodeNo, name: &OsStr, dir: bool) -> u64 {
        if let Some(ino) = Fs::find(state, parent, name) {
            return ino;
        }
        state.next = state.next.max(1) + 1;
        let ino = state.next;
        state.files.insert(
            ino,
            File {
                name: name.to_string_lossy().into_owned(),
                parent: parent.0,
                dir,
                ..File::default()
            },
        );
        ino
    }
}

impl Filesystem for Fs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        match Fs::find(&state, parent, name) {
            Some(ino) => reply.entry(
                &TTL,
                &attr(ino, state.files.get(&ino), state.owner),
                Generation(0),
            ),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        if ino == INodeNo::ROOT {
            return reply.attr(&TTL, &attr(1, None, state.owner));
        }
        match state.files.get(&ino.0) {
            Some(file) => reply.attr(&TTL, &attr(ino.0, Some(file), state.owner)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        let owner = state.owner;
        if ino == INodeNo::ROOT {
            return reply.attr(&TTL, &attr(1, None, owner));
        }
        let Some(file) = state.files.get_mut(&ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        if let Some(size) = size {
            // A truncation is file data too: lost unless synced.
            file.cache.resize(size as usize, 0);
        }
        reply.attr(&TTL, &attr(ino.0, Some(file), owner));
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        match Fs::find(&state, parent, name) {
            Some(ino) if state.files[&ino].dir => reply.error(Errno::EISDIR),
            Some(ino) => {
                state.files.remove(&ino);
                reply.ok();
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let mut state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        if !Fs::is_dir(&state, parent) {
            return reply.error(Errno::ENOENT);
        }
        if Fs::find(&state, parent, name).is_some() {
            return reply.error(Errno::EEXIST);
        }
        let ino = Fs::make(&mut state, parent, name, true);
        reply.entry(
            &TTL,
            &attr(ino, state.files.get(&ino), state.owner),
            Generation(0),
        );
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        match Fs::find(&state, parent, name) {
            Some(ino) if !state.files[&ino].dir => reply.error(Errno::ENOTDIR),
            Some(ino) if state.files.values().any(|f| f.parent == ino) => {
                reply.error(Errno::ENOTEMPTY)
            }
            Some(ino) => {
                state.files.remove(&ino);
                reply.ok();
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let mut state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        let Some(ino) = Fs::find(&state, parent, name) else {
            return reply.error(Errno::ENOENT);
        };
        if !Fs::is_dir(&state, newparent) {
            return reply.error(Errno::ENOENT);
        }
        if let Some(replaced) = Fs::find(&state, newparent, newname) {
            state.files.remove(&replaced);
        }
        let file = state.files.get_mut(&ino).expect("found");
        file.name = newname.to_string_lossy().into_owned();
        file.parent = newparent.0;
        reply.ok();
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.state() {
            Ok(state) if ino == INodeNo::ROOT || state.files.contains_key(&ino.0) => {
                reply.opened(FileHandle(0), FopenFlags::empty())
            }
            Ok(_) => reply.error(Errno::ENOENT),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        let Some(file) = state.files.get(&ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let start = (offset as usize).min(file.cache.len());
        let end = (start + size as usize).min(file.cache.len());
        reply.data(&file.cache[start..end]);
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let mut state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        let Some(file) = state.files.get_mut(&ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let end = offset as usize + data.len();
        if file.cache.len() < end {
            file.cache.resize(end, 0);
        }
        file.cache[offset as usize..end].copy_from_slice(data);
        reply.written(data.len() as u32);
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lo: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close() writes nothing to the disk.
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        state.syncs += 1;
        if let Some(file) = state.files.get_mut(&ino.0) {
            file.disk = file.cache.clone();
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.state() {
            Ok(_) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        if !Fs::is_dir(&state, ino) {
            return reply.error(Errno::ENOTDIR);
        }
        let up = state.files.get(&ino.0).map_or(1, |f| f.parent);
        let mut entries = vec![
            (ino.0, FileType::Directory, ".".to_owned()),
            (up, FileType::Directory, "..".to_owned()),
        ];
        entries.extend(
            state
                .files
                .iter()
                .filter(|(_, f)| f.parent == ino.0)
                .map(|(ino, f)| {
                    let kind = if f.dir {
                        FileType::Directory
                    } else {
                        FileType::RegularFile
                    };
                    (*ino, kind, f.name.clone())
                }),
        );
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(ino), (i + 1) as u64, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(1 << 20, 1 << 19, 1 << 19, 1_000, 900, 4096, 255, 4096);
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let mut state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        if !Fs::is_dir(&state, parent) {
            return reply.error(Errno::ENOENT);
        }
        let ino = Fs::make(&mut state, parent, name, false);
        reply.created(
            &TTL,
            &attr(ino, state.files.get(&ino), state.owner),
            Generation(0),
            FileHandle(0),
            FopenFlags::empty(),
        );
    }
}
