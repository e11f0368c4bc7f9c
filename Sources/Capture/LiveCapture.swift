import CLibpcap
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A live capture on one network interface. Opening it activates the handle
/// (`pcap_create` … `pcap_activate`); reading uses the same borrowed-bytes loop
/// as files.
///
/// Only ``breakLoop()`` may be called from another thread while
/// ``readPackets(_:)`` runs; that is what libpcap allows.
public final class LiveCapture: PacketSource, @unchecked Sendable {
    /// How the interface is opened.
    public struct Options: Sendable, Equatable {
        /// Bytes kept per frame; 262 144 keeps whole frames.
        public var snapshotLength: Int32 = 262_144
        public var promiscuous = false
        /// Deliver each packet as soon as it arrives instead of filling the buffer first.
        public var immediate = true
        /// Kernel ring buffer size in bytes.
        public var bufferSize: Int32 = 4 << 20
        /// How long one wait for packets lasts before the loop looks again (ms).
        public var timeoutMilliseconds: Int32 = 100

        public init() {}
    }

    /// The interface name.
    public let name: String
    public let linkType: LinkType
    /// Warnings `pcap_activate` reported (e.g. promiscuous mode not supported); capture still runs.
    public let warnings: [String]

    private let handle: PcapHandle
    private let nanosecondTimestamps: Bool
    private var framesRead: UInt64 = 0

    /// Opens and activates `interface`.
    /// - Throws: ``CaptureError`` naming the interface and what to do about it.
    public init(interface: String, options: Options = Options()) throws(CaptureError) {
        switch PcapHandle.create(interface: interface) {
        case .success(let created): handle = created
        case .failure(let message): throw .activationFailed(interface: interface, status: PcapHandle.genericErrorStatus, reason: message.text)
        }
        let configured = handle.configure(
            snapshotLength: options.snapshotLength, promiscuous: options.promiscuous, immediate: options.immediate,
            bufferSize: options.bufferSize, timeoutMilliseconds: options.timeoutMilliseconds)
        if configured != 0 {
            throw .activationFailed(interface: interface, status: configured, reason: PcapHandle.statusText(configured))
        }
        let status = handle.activate()
        if status < 0 { throw handle.activationError(status: status, interface: interface) }
        warnings = status > 0 ? ["\(PcapHandle.statusText(status)): \(handle.lastError)"] : []
        name = interface
        linkType = LinkType(rawValue: handle.dataLink)
        nanosecondTimestamps = handle.hasNanosecondTimestamps
    }

    /// Installs the BPF `expression` in the kernel: non-matching frames are never seen nor counted.
    public func setFilter(_ expression: String) throws(CaptureError) {
        let program: BPFProgram
        switch handle.compile(expression) {
        case .success(let compiled): program = compiled
        case .failure(let message): throw .invalidFilter(expression: expression, reason: message.text)
        }
        if case .failure(let message) = handle.setFilter(program) { throw .filterNotInstalled(reason: message.text) }
    }

    /// Packet counts from the kernel since activation.
    public func statistics() throws(CaptureError) -> CaptureStatistics {
        switch handle.statistics() {
        case .success(let stats):
            return CaptureStatistics(
                received: UInt64(stats.ps_recv), droppedByKernel: UInt64(stats.ps_drop),
                droppedByInterface: UInt64(stats.ps_ifdrop))
        case .failure(let message): throw .statisticsUnavailable(reason: message.text)
        }
    }

    /// Makes a running ``readPackets(_:)`` return ``ReadOutcome/stopped(framesRead:)``
    /// at its next wake-up (at most ``Options/timeoutMilliseconds`` later). Safe from another thread.
    public func breakLoop() { handle.breakLoop() }

    /// A descriptor to `poll` for readability, when the platform has one.
    public var selectableFileDescriptor: Int32? { handle.selectableFileDescriptor }

    public func readPackets(_ body: (CaptureInfo, UnsafeRawBufferPointer) -> PacketLoopControl) -> ReadOutcome {
        while true {
            switch handle.next() {
            case .packet(let header, let bytes):
                if body(info(header), bytes) == .stop { return .stopped(framesRead: framesRead) }
            case .timeout:
                continue
            case .end:
                return .stopped(framesRead: framesRead)
            case .error(let message):
                return .failed(framesRead: framesRead, reason: ReadFailure(kind: .other, message: message))
            }
        }
    }

    // MARK: polling (a loop that also ticks when no packet arrives)

    /// Whether timestamps carry nanoseconds (else microseconds); what a pcap written from this capture should keep.
    public var hasNanosecondTimestamps: Bool { nanosecondTimestamps }
    /// Bytes kept per frame, as activated.
    public var snapshotLength: Int { handle.snapshotLength }

    /// Makes reads return at once when no packet waits, for a loop that polls
    /// ``selectableFileDescriptor`` with its own timeout.
    public func setNonblocking() throws(CaptureError) {
        if case .failure(let message) = handle.setNonblocking(true) {
            throw .activationFailed(interface: name, status: PcapHandle.genericErrorStatus, reason: message.text)
        }
    }

    /// Waits until a packet may be read or `timeoutMilliseconds` pass; false on timeout,
    /// on a signal, or without a selectable descriptor (then it just sleeps).
    public func waitForPackets(timeoutMilliseconds: Int32) -> Bool {
        guard let fd = handle.selectableFileDescriptor else {
            usleep(UInt32(clamping: Int64(max(timeoutMilliseconds, 0)) * 1_000))
            return false
        }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, timeoutMilliseconds) > 0
    }

    /// What one ``readAvailable(limit:_:)`` call did.
    public enum AvailableRead: Sendable, Equatable {
        /// `count` packets were handed over (0: none was waiting).
        case read(count: Int)
        /// The callback returned ``PacketLoopControl/stop`` or ``breakLoop()`` was called.
        case stopped
        /// libpcap reported an error.
        case failed(ReadFailure)
    }

    /// Hands over the packets already waiting, at most `limit`, without blocking
    /// (after ``setNonblocking()``). The bytes are borrowed for the callback only.
    public func readAvailable(limit: Int, _ body: (CaptureInfo, UnsafeRawBufferPointer) -> PacketLoopControl) -> AvailableRead {
        var count = 0
        while count < limit {
            switch handle.next() {
            case .packet(let header, let bytes):
                count += 1
                if body(info(header), bytes) == .stop { return .stopped }
            case .timeout:
                return .read(count: count)
            case .end:
                return .stopped
            case .error(let message):
                return .failed(ReadFailure(kind: .other, message: message))
            }
        }
        return .read(count: count)
    }

    /// Numbers the record and converts its header.
    private func info(_ header: UnsafePointer<pcap_pkthdr>) -> CaptureInfo {
        framesRead &+= 1
        let time = header.pointee.ts
        let fraction = nanosecondTimestamps ? Int64(time.tv_usec) : Int64(time.tv_usec) &* 1_000
        return CaptureInfo(
            frameNumber: framesRead,
            timestampNanoseconds: Int64(time.tv_sec) &* 1_000_000_000 &+ fraction,
            capturedLength: Int(header.pointee.caplen),
            wireLength: Int(header.pointee.len),
            linkType: linkType)
    }
}

/// `pcap_stats` counters.
public struct CaptureStatistics: Sendable, Equatable {
    /// Packets the filter accepted.
    public var received: UInt64
    /// Packets lost because the buffer was full.
    public var droppedByKernel: UInt64
    /// Packets the interface or driver dropped.
    public var droppedByInterface: UInt64

    public init(received: UInt64, droppedByKernel: UInt64, droppedByInterface: UInt64) {
        self.received = received
        self.droppedByKernel = droppedByKernel
        self.droppedByInterface = droppedByInterface
    }
}
