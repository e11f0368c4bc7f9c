/// Why a capture could not be opened, configured or written.
///
/// Each case renders as one line for a person (``description``); the CLI
/// prefixes it with the input's name.
public enum CaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path does not exist.
    case noSuchFile(path: String)
    /// The path is a directory, not a capture file.
    case isDirectory(path: String)
    /// The file exists but cannot be opened (permissions, I/O error, …).
    case cannotOpen(path: String, reason: String)
    /// libpcap does not recognise the file as pcap or pcapng, or its file header is cut short.
    case notACapture(path: String, reason: String)
    /// Live: the interface does not exist (`PCAP_ERROR_NO_SUCH_DEVICE`).
    case noSuchDevice(interface: String, reason: String)
    /// Live: capturing needs privileges (`PCAP_ERROR_PERM_DENIED`).
    case permissionDenied(interface: String, reason: String)
    /// Live: promiscuous mode needs privileges (`PCAP_ERROR_PROMISC_PERM_DENIED`).
    case promiscuousPermissionDenied(interface: String, reason: String)
    /// Live: the interface is down (`PCAP_ERROR_IFACE_NOT_UP`).
    case interfaceNotUp(interface: String, reason: String)
    /// Live: any other activation or configuration failure, with libpcap's status and text.
    case activationFailed(interface: String, status: Int32, reason: String)
    /// The BPF expression does not compile; `reason` is libpcap's text.
    case invalidFilter(expression: String, reason: String)
    /// The compiled filter could not be installed.
    case filterNotInstalled(reason: String)
    /// Statistics are not available from this source.
    case statisticsUnavailable(reason: String)
    /// A capture file could not be written.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .noSuchFile(let path): return "\(path): no such file"
        case .isDirectory(let path): return "\(path): is a directory, not a capture file"
        case .cannotOpen(let path, let reason): return "\(path): cannot open: \(reason)"
        case .notACapture(let path, let reason): return "\(path): frame 1: not a pcap or pcapng capture (\(reason))"
        case .noSuchDevice(let interface, let reason):
            return "\(interface): no such capture interface (\(reason)); list them with `tcpdump -D`"
        case .permissionDenied(let interface, let reason):
            return "\(interface): permission denied (\(reason)); capturing needs root or CAP_NET_RAW and CAP_NET_ADMIN, "
                + "e.g. `sudo setcap cap_net_raw,cap_net_admin=eip $(which smtpscope)`"
        case .promiscuousPermissionDenied(let interface, let reason):
            return "\(interface): permission denied for promiscuous mode (\(reason)); run without promiscuous mode or with CAP_NET_ADMIN"
        case .interfaceNotUp(let interface, let reason):
            return "\(interface): interface is down (\(reason)); bring it up with `ip link set \(interface) up`"
        case .activationFailed(let interface, let status, let reason):
            return "\(interface): cannot start capture: \(reason) (libpcap status \(status))"
        case .invalidFilter(let expression, let reason): return "invalid filter '\(expression)': \(reason)"
        case .filterNotInstalled(let reason): return "cannot install filter: \(reason)"
        case .statisticsUnavailable(let reason): return "statistics unavailable: \(reason)"
        case .writeFailed(let path, let reason): return "\(path): cannot write capture: \(reason)"
        }
    }
}
