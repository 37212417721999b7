//! Files phonefleet reads and writes, the careful way: reads take regular files only (a device, FIFO or
//! socket is refused, also behind a symbolic link) and stop at a byte cap instead of trusting the size
//! the file system reports (`/dev/zero` reports 0); writes never follow a symbolic link and replace the
//! file whole (written aside in the same directory, synced, then renamed), so a reader or a killed run
//! never sees half a file.
//!
//! Errors are plain sentences (the caller adds which file and why it was read).

use std::io::{Read, Write};
use std::path::Path;

/// Read a regular file of at most `cap` bytes. The checks are made on the opened file (no window
/// between the check and the read); more than `cap` bytes is refused after reading `cap + 1`.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    // Checked before opening too: opening a FIFO for reading waits for a writer.
    let before = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if !before.is_file() {
        return Err(not_regular(&before));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    if meta.len() > cap {
        return Err(too_large(cap));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > cap {
        return Err(too_large(cap));
    }
    Ok(bytes)
}

fn not_regular(meta: &std::fs::Metadata) -> String {
    format!(
        "it is {}, not a regular file; phonefleet reads specs and plans only from regular files",
        kind_of(meta)
    )
}

fn too_large(cap: u64) -> String {
    format!(
        "the file is larger than {} MiB, the most phonefleet reads",
        cap / (1024 * 1024)
    )
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Replace `path` whole with `bytes`: refused when `path` is a symbolic link; written to a new file
/// beside it (created exclusively, so a link planted under that name is not followed either), synced,
/// then renamed over `path`. Missing parent directories are created (as real directories: a parent
/// that is a link is refused).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let refuse = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, what);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(refuse(format!(
                "{} is a symbolic link; phonefleet does not write through links",
                dir.display()
            )));
        }
        Ok(_) => {}
        Err(_) => std::fs::create_dir_all(dir)?,
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refuse(format!(
            "{} is a symbolic link; phonefleet does not write through links",
            path.display()
        )));
    }
    let name = path
        .file_name()
        .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
    let aside = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&aside);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&aside)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&aside, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_fifos_are_refused_and_reads_stop_at_the_cap() {
        let err = read_capped(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(err.contains("a device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        assert!(read_capped(&big, 1024).unwrap_err().contains("larger"));
        assert_eq!(read_capped(&big, 4096).unwrap().len(), 2048);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(read_capped(&link, 1024).unwrap_err().contains("a device"));
    }

    #[test]
    fn writes_replace_whole_and_never_follow_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("state.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_atomic(&link, b"new").is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        let file = dir.path().join("sub/state.json");
        write_atomic(&file, b"one").unwrap();
        write_atomic(&file, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }
}
