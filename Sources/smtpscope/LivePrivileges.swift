#if canImport(Glibc)
import Glibc
#endif

/// Gives up root for good once the capture handle is open, as tcpdump `-Z` does:
/// supplementary groups, then group, then user (the order that still has the right to each step).
enum LivePrivileges {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func drop(to user: String) throws(Failure) {
        guard let entry = getpwnam(user) else { throw Failure(description: "--user \(user): no such user") }
        let uid = entry.pointee.pw_uid, gid = entry.pointee.pw_gid
        guard initgroups(user, gid) == 0 else { throw failure("initgroups", user) }
        guard setgid(gid) == 0 else { throw failure("setgid", user) }
        guard setuid(uid) == 0 else { throw failure("setuid", user) }
        // Dropped for good only if root cannot be taken back.
        if uid != 0, setuid(0) == 0 { throw Failure(description: "--user \(user): could regain root after setuid; refusing to run") }
    }

    private static func failure(_ call: String, _ user: String) -> Failure {
        Failure(description: "--user \(user): \(call) failed: \(String(cString: strerror(errno)))")
    }
}
