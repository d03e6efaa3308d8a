//! The names this machine goes by, for matching it against `servers`.
//!
//! Linux has one host name. Windows has three that an operator may have
//! copied into the config: the DNS host name (`hostname`, case as typed at
//! setup), the fully qualified DNS name, and the NetBIOS computer name
//! (`%COMPUTERNAME%`, upper case, cut to 15 characters).

/// Returns the local host names, the one most often used first. An empty
/// list means that none could be read.
pub fn local() -> Vec<String> {
    let mut names = Vec::new();
    for name in read_names() {
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Returns the primary host name: the one shown in reports and given to
/// hooks as `tgw.hostname()`.
pub fn primary() -> String {
    local().into_iter().next().unwrap_or_default()
}

#[cfg(not(windows))]
fn read_names() -> Vec<String> {
    hostname::get()
        .map(|name| vec![name.to_string_lossy().into_owned()])
        .unwrap_or_default()
}

#[cfg(windows)]
fn read_names() -> Vec<String> {
    use windows_sys::Win32::System::SystemInformation::{
        ComputerNamePhysicalDnsFullyQualified, ComputerNamePhysicalDnsHostname,
        ComputerNamePhysicalNetBIOS,
    };

    [
        ComputerNamePhysicalDnsHostname,
        ComputerNamePhysicalDnsFullyQualified,
        ComputerNamePhysicalNetBIOS,
    ]
    .into_iter()
    .filter_map(windows::computer_name)
    .collect()
}

#[cfg(windows)]
mod windows {
    use windows_sys::Win32::System::SystemInformation::{GetComputerNameExW, COMPUTER_NAME_FORMAT};

    /// Reads one form of the computer name; None when Windows refuses.
    pub fn computer_name(format: COMPUTER_NAME_FORMAT) -> Option<String> {
        let mut size: u32 = 0;
        // SAFETY: a null buffer with size 0 is the documented way to ask
        // for the needed size; the call writes only to `size`.
        unsafe { GetComputerNameExW(format, std::ptr::null_mut(), &mut size) };
        if size == 0 {
            return None;
        }

        let mut buffer = vec![0u16; size as usize];
        // SAFETY: `buffer` contains `size` UTF-16 units, the length passed to the call.
        let ok = unsafe { GetComputerNameExW(format, buffer.as_mut_ptr(), &mut size) };
        if ok == 0 {
            return None;
        }
        buffer.truncate(size as usize);
        Some(String::from_utf16_lossy(&buffer))
    }
}
