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

/// On Windows the file's access control list takes the place of the mode
/// bits: the file is rejected when it lets a group of ordinary users
/// (Everyone, Users, Authenticated Users and the like) change it. The
/// owner is not checked, since on Windows Administrators can take
/// ownership of any file anyway.
#[cfg(windows)]
pub fn check(path: &Path, _metadata: &Metadata) -> Result<(), HookError> {
    let display = path.display().to_string();
    let dacl = acl::read(path).map_err(|error| HookError {
        message: msg::hook_acl_unreadable(&display, &error),
        hint: Some(msg::hint_hook_acl_unreadable()),
    })?;

    if let Some(writer) = broad_writer(dacl.as_deref()) {
        return Err(HookError {
            message: msg::hook_acl_writable(&display, writer.group, &writer.sid),
            hint: Some(msg::hint_hook_acl_writable(&display, &writer.sid)),
        });
    }
    Ok(())
}

/// Other systems have neither mode bits that std can read nor ACLs that
/// tgw-vip reads, so nothing is checked there.
#[cfg(not(any(unix, windows)))]
pub fn check(_path: &Path, _metadata: &Metadata) -> Result<(), HookError> {
    Ok(())
}

/// One access-allowed or access-denied entry of a Windows DACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    pub allow: bool,
    /// The entry only passes to children and does not apply to the file.
    pub inherit_only: bool,
    pub mask: u32,
    /// The trustee in string form, such as `S-1-5-32-545`.
    pub sid: String,
}

/// A group of ordinary users that may change the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    pub group: &'static str,
    pub sid: String,
}

/// Well-known groups that ordinary or anonymous users belong to.
const BROAD_GROUPS: [(&str, &str); 6] = [
    ("S-1-1-0", "Everyone"),
    ("S-1-5-4", "INTERACTIVE"),
    ("S-1-5-7", "ANONYMOUS LOGON"),
    ("S-1-5-11", "Authenticated Users"),
    ("S-1-5-32-545", "Users"),
    ("S-1-5-32-546", "Guests"),
];

/// Rights that let a trustee change what the file runs: write or append
/// data, delete (and so replace) it, change its ACL or owner, and the
/// generic write and all rights.
const CHANGE_RIGHTS: u32 = 0x0000_0002 // FILE_WRITE_DATA
    | 0x0000_0004 // FILE_APPEND_DATA
    | 0x0001_0000 // DELETE
    | 0x0004_0000 // WRITE_DAC
    | 0x0008_0000 // WRITE_OWNER
    | 0x1000_0000 // GENERIC_ALL
    | 0x4000_0000; // GENERIC_WRITE

fn broad_group(sid: &str) -> Option<&'static str> {
    if let Some((_, name)) = BROAD_GROUPS.iter().find(|(known, _)| *known == sid) {
        return Some(name);
    }
    let domain_users = sid.starts_with("S-1-5-21-") && sid.ends_with("-513");
    domain_users.then_some("Domain Users")
}

/// Finds the first broad group that the DACL lets change the file. `None`
/// for the DACL means the file has none, which Windows reads as full
/// access for everyone. Entries are taken in order, as Windows does, so a
/// deny entry cancels the rights that a later allow entry grants.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn broad_writer(dacl: Option<&[Ace]>) -> Option<Writer> {
    let Some(aces) = dacl else {
        return Some(Writer {
            group: "Everyone",
            sid: "S-1-1-0".into(),
        });
    };

    let mut denied: Vec<(&str, u32)> = Vec::new();
    for ace in aces.iter().filter(|ace| !ace.inherit_only) {
        if !ace.allow {
            denied.push((&ace.sid, ace.mask));
            continue;
        }
        let already_denied = denied
            .iter()
            .filter(|(sid, _)| *sid == ace.sid)
            .fold(0, |bits, (_, mask)| bits | mask);
        let granted = ace.mask & CHANGE_RIGHTS & !already_denied;
        if granted == 0 {
            continue;
        }
        if let Some(group) = broad_group(&ace.sid) {
            return Some(Writer {
                group,
                sid: ace.sid.clone(),
            });
        }
    }
    None
}

/// Reads a file's DACL through the Win32 security API.
#[cfg(windows)]
mod acl {
    use std::os::windows::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr::null_mut;

    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{
        ConvertSidToStringSidW, GetNamedSecurityInfoW, SE_FILE_OBJECT,
    };
    use windows_sys::Win32::Security::{
        GetAce, ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, INHERIT_ONLY_ACE,
        PSECURITY_DESCRIPTOR, PSID,
    };
    use windows_sys::Win32::System::SystemServices::{
        ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE,
    };

    use super::Ace;

    /// Frees memory that a Win32 call allocated with LocalAlloc.
    struct Local(*mut core::ffi::c_void);

    impl Drop for Local {
        fn drop(&mut self) {
            if !self.0.is_null() {
                // SAFETY: the pointer came from a Win32 call that documents
                // LocalFree as its release, and is freed once.
                unsafe { LocalFree(self.0) };
            }
        }
    }

    /// Returns the entries of the file's DACL, or None when the file has
    /// no DACL at all.
    pub fn read(path: &Path) -> Result<Option<Vec<Ace>>, String> {
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
        let mut dacl: *mut ACL = null_mut();
        let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
        // SAFETY: `wide` is NUL-terminated; the out pointers are valid and
        // the ones not asked for are null, as the call allows.
        let status = unsafe {
            GetNamedSecurityInfoW(
                wide.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION,
                null_mut(),
                null_mut(),
                &mut dacl,
                null_mut(),
                &mut descriptor,
            )
        };
        if status != 0 {
            return Err(std::io::Error::from_raw_os_error(status as i32).to_string());
        }
        let _descriptor = Local(descriptor);
        if dacl.is_null() {
            return Ok(None);
        }

        // SAFETY: `dacl` points into `descriptor`, which lives until the
        // end of this function.
        let count = unsafe { (*dacl).AceCount };
        let mut aces = Vec::with_capacity(count as usize);
        for index in 0..u32::from(count) {
            if let Some(ace) = entry(dacl, index)? {
                aces.push(ace);
            }
        }
        Ok(Some(aces))
    }

    /// Reads one entry; None for entry types other than allow and deny.
    fn entry(dacl: *const ACL, index: u32) -> Result<Option<Ace>, String> {
        let mut raw: *mut core::ffi::c_void = null_mut();
        // SAFETY: `index` is below the DACL's AceCount.
        if unsafe { GetAce(dacl, index, &mut raw) } == 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        // SAFETY: every ACE starts with an ACE_HEADER.
        let header = unsafe { &*(raw as *const ACE_HEADER) };
        let allow = match u32::from(header.AceType) {
            ACCESS_ALLOWED_ACE_TYPE => true,
            ACCESS_DENIED_ACE_TYPE => false,
            _ => return Ok(None),
        };

        // SAFETY: allow and deny entries share the ACCESS_ALLOWED_ACE
        // layout, with the SID starting at SidStart.
        let body = unsafe { &*(raw as *const ACCESS_ALLOWED_ACE) };
        let sid = sid_string(&body.SidStart as *const u32 as PSID)?;
        Ok(Some(Ace {
            allow,
            inherit_only: u32::from(header.AceFlags) & INHERIT_ONLY_ACE != 0,
            mask: body.Mask,
            sid,
        }))
    }

    fn sid_string(sid: PSID) -> Result<String, String> {
        let mut text: *mut u16 = null_mut();
        // SAFETY: `sid` points at a SID inside a live ACE.
        if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        let _text = Local(text.cast());

        // SAFETY: the call returned a NUL-terminated UTF-16 string.
        let length = (0..).take_while(|&i| unsafe { *text.add(i) } != 0).count();
        // SAFETY: `length` units before the NUL are readable.
        let units = unsafe { std::slice::from_raw_parts(text, length) };
        Ok(String::from_utf16_lossy(units))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ace(allow: bool, mask: u32, sid: &str) -> Ace {
        Ace {
            allow,
            inherit_only: false,
            mask,
            sid: sid.into(),
        }
    }

    const READ_EXECUTE: u32 = 0x0012_00a9;
    const FULL: u32 = 0x001f_01ff;
    const MODIFY: u32 = 0x0013_01bf;

    #[test]
    fn default_program_data_acl_passes() {
        let dacl = [
            ace(true, FULL, "S-1-5-18"),
            ace(true, FULL, "S-1-5-32-544"),
            ace(true, READ_EXECUTE, "S-1-5-32-545"),
        ];

        assert_eq!(broad_writer(Some(&dacl)), None);
    }

    #[test]
    fn users_with_modify_is_named() {
        let dacl = [
            ace(true, FULL, "S-1-5-32-544"),
            ace(true, MODIFY, "S-1-5-32-545"),
        ];

        let writer = broad_writer(Some(&dacl)).unwrap();
        assert_eq!(
            (writer.group, writer.sid.as_str()),
            ("Users", "S-1-5-32-545")
        );
    }

    #[test]
    fn missing_dacl_means_everyone() {
        assert_eq!(broad_writer(None).unwrap().group, "Everyone");
    }

    #[test]
    fn deny_before_allow_cancels_write() {
        let dacl = [
            ace(false, CHANGE_RIGHTS, "S-1-1-0"),
            ace(true, FULL, "S-1-1-0"),
        ];

        assert_eq!(broad_writer(Some(&dacl)), None);
    }

    #[test]
    fn inherit_only_entry_does_not_apply() {
        let mut creator = ace(true, 0x1000_0000, "S-1-5-11");
        creator.inherit_only = true;

        assert_eq!(broad_writer(Some(&[creator])), None);
    }

    #[test]
    fn domain_users_are_a_broad_group() {
        let dacl = [ace(true, 0x0000_0002, "S-1-5-21-1-2-3-513")];

        assert_eq!(broad_writer(Some(&dacl)).unwrap().group, "Domain Users");
    }

    #[test]
    fn single_account_may_write() {
        let dacl = [ace(true, FULL, "S-1-5-21-1-2-3-1001")];

        assert_eq!(broad_writer(Some(&dacl)), None);
    }
}
