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

#[cfg(test)]
mod tests {
    use super::errno_name;

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
