//! NetBSD error numbers as the rump kernel's system calls report them, with their names, so a
//! failed call can be shown as `ENOENT` rather than a bare number.

/// Names of NetBSD errno values 1 to 96, in order.
const NAMES: [&str; 96] = [
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EDEADLK",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EAGAIN",
    "EINPROGRESS",
    "EALREADY",
    "ENOTSOCK",
    "EDESTADDRREQ",
    "EMSGSIZE",
    "EPROTOTYPE",
    "ENOPROTOOPT",
    "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT",
    "EOPNOTSUPP",
    "EPFNOSUPPORT",
    "EAFNOSUPPORT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ENETDOWN",
    "ENETUNREACH",
    "ENETRESET",
    "ECONNABORTED",
    "ECONNRESET",
    "ENOBUFS",
    "EISCONN",
    "ENOTCONN",
    "ESHUTDOWN",
    "ETOOMANYREFS",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "ELOOP",
    "ENAMETOOLONG",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "ENOTEMPTY",
    "EPROCLIM",
    "EUSERS",
    "EDQUOT",
    "ESTALE",
    "EREMOTE",
    "EBADRPC",
    "ERPCMISMATCH",
    "EPROGUNAVAIL",
    "EPROGMISMATCH",
    "EPROCUNAVAIL",
    "ENOLCK",
    "ENOSYS",
    "EFTYPE",
    "EAUTH",
    "ENEEDAUTH",
    "EIDRM",
    "ENOMSG",
    "EOVERFLOW",
    "EILSEQ",
    "ENOTSUP",
    "ECANCELED",
    "EBADMSG",
    "ENODATA",
    "ENOSR",
    "ENOSTR",
    "ETIME",
    "ENOATTR",
    "EMULTIHOP",
    "ENOLINK",
    "EPROTO",
];

/// The name of NetBSD errno `value` (`None` for values NetBSD does not define).
pub fn errno_name(value: i32) -> Option<&'static str> {
    usize::try_from(value)
        .ok()
        .and_then(|v| v.checked_sub(1))
        .and_then(|index| NAMES.get(index).copied())
}

/// The Linux errno for NetBSD errno `value`, for answers a Linux program reads: the error of
/// the same name, else the nearest Linux meaning (`EFTYPE` is `EINVAL`, the authentication
/// errors `EACCES`, `EPROCLIM` `EAGAIN`, `ENOATTR` `ENODATA`, the Sun RPC ones `EIO`).
pub fn linux_errno(value: i32) -> i32 {
    use linux_abi::errno as linux;
    let Some(name) = errno_name(value) else {
        return linux::EIO;
    };
    if let Some((number, _)) = linux::ALL.iter().find(|(_, known)| *known == name) {
        return *number;
    }
    match name {
        "EFTYPE" => linux::EINVAL,
        "EAUTH" | "ENEEDAUTH" => linux::EACCES,
        "EPROCLIM" => linux::EAGAIN,
        "ENOATTR" => linux::ENODATA,
        "ENOTSUP" => linux::EOPNOTSUPP,
        _ => linux::EIO,
    }
}

#[cfg(test)]
mod tests {
    use super::{errno_name, linux_errno};
    use linux_abi::errno as linux;

    #[test]
    fn linux_numbers_follow_names() {
        for (netbsd, expected) in [
            (2, linux::ENOENT),
            (35, linux::EAGAIN),
            (62, linux::ELOOP),
            (63, linux::ENAMETOOLONG),
            (66, linux::ENOTEMPTY),
            (69, linux::EDQUOT),
            (78, linux::ENOSYS),
            (79, linux::EINVAL),
            (84, linux::EOVERFLOW),
            (86, linux::EOPNOTSUPP),
            (93, linux::ENODATA),
            (0, linux::EIO),
            (500, linux::EIO),
        ] {
            assert_eq!(linux_errno(netbsd), expected, "NetBSD errno {netbsd}");
        }
        // Every NetBSD error lands on a Linux one of the same name where Linux has it.
        for value in 1..=96 {
            let name = errno_name(value).expect("NetBSD defines 1-96");
            let mapped = linux_errno(value);
            if linux::ALL.iter().any(|(_, known)| *known == name) {
                assert_eq!(linux::name(mapped), name, "NetBSD errno {value}");
            } else {
                assert_ne!(linux::name(mapped), "E?", "NetBSD errno {value}");
            }
        }
    }

    #[test]
    fn names_match_netbsd_numbers() {
        for (value, name) in [
            (1, "EPERM"),
            (2, "ENOENT"),
            (5, "EIO"),
            (6, "ENXIO"),
            (16, "EBUSY"),
            (22, "EINVAL"),
            (30, "EROFS"),
            (35, "EAGAIN"),
            (60, "ETIMEDOUT"),
            (66, "ENOTEMPTY"),
            (78, "ENOSYS"),
            (96, "EPROTO"),
        ] {
            assert_eq!(errno_name(value), Some(name), "errno {value}");
        }
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(97), None);
        assert_eq!(errno_name(-1), None);
    }
}
