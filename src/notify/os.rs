//! The two things notifications ask of the C library: this machine's
//! name, and killing a command's whole process group when it is given up
//! (a shell's children would outlive the shell otherwise).

/// This machine's name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_owned(),
        _ => "an unknown host".to_owned(),
    }
}

/// Kills a process group when dropped (the command given up, or ended:
/// then nothing of it is left to kill).
pub struct GroupKiller(pub Option<u32>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) with a negative pid signals that process
            // group; it touches no memory.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}
