//! The ownership and mode check on hook files. A hook runs programs as the
//! user of tgw-vip (often root), so a file that another user can change is
//! a way to run code as that user.

use std::fs::Metadata;
use std::path::Path;

use super::HookError;
use crate::messages as msg;

/// Rejects a file owned by anyone but root or the current user, and a file
/// that group or others can write.
#[cfg(unix)]
pub fn check(path: &Path, metadata: &Metadata) -> Result<(), HookError> {
    use std::os::unix::fs::MetadataExt;

    let display = path.display().to_string();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let user = unsafe { libc::geteuid() };
    let owner = metadata.uid();
    if owner != 0 && owner != user {
        return Err(HookError {
            message: msg::hook_owner(&display, owner, user),
            hint: Some(msg::hint_hook_owner(&display, user)),
        });
    }

    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(HookError {
            message: msg::hook_writable(&display, &format!("{mode:04o}")),
            hint: Some(msg::hint_hook_writable(&display)),
        });
    }
    Ok(())
}

/// Windows has no owner or mode bits that std can read, so no check is
/// made here: protect the hook directory with an ACL that lets only
/// Administrators and the service account write to it.
#[cfg(not(unix))]
pub fn check(_path: &Path, _metadata: &Metadata) -> Result<(), HookError> {
    Ok(())
}
