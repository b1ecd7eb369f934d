//! A FUSE filesystem that loses what was not synced when the power is cut, for crash tests
//! (the method of Jepsen's LazyFS, on one flat directory held in memory).
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

    /// Writes what is on the disk into `dir`, one real file per file.
    pub fn disk(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let state = self.0.lock().unwrap();
        for file in state.files.values() {
            std::fs::write(dir.join(&file.name), &file.disk).unwrap();
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
        config.n_threads = Some(2);
        fuser::spawn_mount(Fs(self.clone()), mountpoint, &config)
    }
}

struct Fs(Lazy);

fn attr(ino: u64, file: Option<&File>) -> FileAttr {
    let now = SystemTime::now();
    FileAttr {
        ino: INodeNo(ino),
        size: file.map_or(0, |f| f.cache.len() as u64),
        blocks: file.map_or(0, |f| f.cache.len() as u64 / 512 + 1),
        atime: now,
        mtime: now,
        ctime: now,
        crtime: now,
        kind: if file.is_some() {
            FileType::RegularFile
        } else {
            FileType::Directory
        },
        perm: if file.is_some() { 0o644 } else { 0o755 },
        nlink: if file.is_some() { 1 } else { 2 },
        uid: 0,
        gid: 0,
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
        if parent != INodeNo::ROOT {
            return None;
        }
        let name = name.to_str()?;
        state
            .files
            .iter()
            .find(|(_, f)| f.name == name)
            .map(|(ino, _)| *ino)
    }
}

impl Filesystem for Fs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        match Fs::find(&state, parent, name) {
            Some(ino) => reply.entry(&TTL, &attr(ino, state.files.get(&ino)), Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        if ino == INodeNo::ROOT {
            return reply.attr(&TTL, &attr(1, None));
        }
        match state.files.get(&ino.0) {
            Some(file) => reply.attr(&TTL, &attr(ino.0, Some(file))),
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
        if ino == INodeNo::ROOT {
            return reply.attr(&TTL, &attr(1, None));
        }
        let Some(file) = state.files.get_mut(&ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        if let Some(size) = size {
            // A truncation is file data too: lost unless synced.
            file.cache.resize(size as usize, 0);
        }
        reply.attr(&TTL, &attr(ino.0, Some(file)));
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut state = match self.state() {
            Ok(state) => state,
            Err(e) => return reply.error(e),
        };
        match Fs::find(&state, parent, name) {
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
        if let Some(replaced) = Fs::find(&state, newparent, newname) {
            state.files.remove(&replaced);
        }
        state.files.get_mut(&ino).expect("found").name = newname.to_string_lossy().into_owned();
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
        if ino != INodeNo::ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let mut entries = vec![
            (1, FileType::Directory, ".".to_owned()),
            (1, FileType::Directory, "..".to_owned()),
        ];
        entries.extend(
            state
                .files
                .iter()
                .map(|(ino, f)| (*ino, FileType::RegularFile, f.name.clone())),
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
        if parent != INodeNo::ROOT {
            return reply.error(Errno::ENOENT);
        }
        let ino = match Fs::find(&state, parent, name) {
            Some(ino) => ino,
            None => {
                state.next = state.next.max(1) + 1;
                let ino = state.next;
                state.files.insert(
                    ino,
                    File {
                        name: name.to_string_lossy().into_owned(),
                        ..File::default()
                    },
                );
                ino
            }
        };
        reply.created(
            &TTL,
            &attr(ino, state.files.get(&ino)),
            Generation(0),
            FileHandle(0),
            FopenFlags::empty(),
        );
    }
}
