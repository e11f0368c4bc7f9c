import CLibpcap
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The one file of smtpscope that calls libpcap (DESIGN.md rule 11): thin
// wrappers that turn return codes and errbuf text into typed values. Everything
// else in Capture talks to ``PcapHandle``, ``BPFProgram`` and ``PcapDumper``.

/// The libpcap version string, e.g. `libpcap version 1.10.3 (with TPACKET_V3)`.
/// The corresponding C function is `pcap_lib_version`.
public var libpcapVersion: String { String(cString: pcap_lib_version()) }

/// Calls `body` with a libpcap error buffer and returns its text when `body` reports failure.
private func withErrorBuffer<T>(_ body: (UnsafeMutablePointer<CChar>) -> T?) -> Result<T, LibpcapMessage> {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(PCAP_ERRBUF_SIZE)) { buffer in
        guard let base = buffer.baseAddress else { return .failure(LibpcapMessage("no memory for the error buffer")) }
        base.initialize(to: 0)
        if let value = body(base) { return .success(value) }
        return .failure(LibpcapMessage(String(cString: base)))
    }
}

/// Error text reported by libpcap.
struct LibpcapMessage: Error {
    var text: String
    init(_ text: String) { self.text = text }
}

/// What one call to `pcap_next_ex` produced.
enum NextPacket {
    /// A record; the bytes are valid until the next call on the same handle.
    case packet(UnsafePointer<pcap_pkthdr>, UnsafeRawBufferPointer)
    /// Live capture: the read timeout expired without a packet.
    case timeout
    /// Savefile: no more records. Live: `pcap_breakloop` was called.
    case end
    /// libpcap's error text.
    case error(String)
}

/// Owns one `pcap_t`; closes it (and the `FILE` it reads) on deinit.
final class PcapHandle {
    let raw: OpaquePointer
    /// The `FILE`'s buffer when the handle gave it one: freed only after `pcap_close` closed the `FILE`.
    private let fileBuffer: UnsafeMutableRawPointer?

    private init(raw: OpaquePointer, fileBuffer: UnsafeMutableRawPointer? = nil) {
        self.raw = raw
        self.fileBuffer = fileBuffer
    }

    deinit {
        pcap_close(raw)
        fileBuffer?.deallocate()
    }

    /// Opens a savefile (pcap or pcapng) read through `file`, timestamps in nanoseconds;
    /// the handle takes ownership of `file` and of `fileBuffer`, the buffer `file` was given
    /// with `setvbuf` (if any).
    /// The corresponding C function is `pcap_fopen_offline_with_tstamp_precision`.
    static func openOffline(
        file: UnsafeMutablePointer<FILE>, fileBuffer: UnsafeMutableRawPointer? = nil
    ) -> Result<PcapHandle, LibpcapMessage> {
        let opened = withErrorBuffer { errbuf in
            pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), errbuf)
        }
        if case .failure = opened {
            fclose(file)
            fileBuffer?.deallocate()
        }
        return opened.map { PcapHandle(raw: $0, fileBuffer: fileBuffer) }
    }

    /// Creates an inactive live handle on `interface`.
    /// The corresponding C function is `pcap_create`.
    static func create(interface: String) -> Result<PcapHandle, LibpcapMessage> {
        withErrorBuffer { errbuf in pcap_create(interface, errbuf) }.map { PcapHandle(raw: $0) }
    }

    /// A handle without input, for compiling filters and writing files.
    /// The corresponding C function is `pcap_open_dead_with_tstamp_precision`.
    static func openDead(linkType: UInt32, snapshotLength: Int32, nanoseconds: Bool) -> PcapHandle? {
        let precision = nanoseconds ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO
        return pcap_open_dead_with_tstamp_precision(dlt(linkType: linkType), snapshotLength, UInt32(precision))
            .map { PcapHandle(raw: $0) }
    }

    /// The corresponding C function is `pcap_next_ex`.
    func next() -> NextPacket {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let status = nextRecord(header: &header, data: &data)
        guard status == 1, let header, let data else { return outcome(ofStatus: status) }
        return .packet(UnsafePointer(header), UnsafeRawBufferPointer(start: data, count: Int(header.pointee.caplen)))
    }

    /// `pcap_next_ex` for a per-record loop: 1 with `header` and `data` set is a record; any
    /// other status (or a record without data) becomes a ``NextPacket`` through
    /// ``outcome(ofStatus:)``. Reading every record through ``next()`` built and destroyed an
    /// enum with a string payload per record.
    @inline(__always)
    func nextRecord(header: inout UnsafeMutablePointer<pcap_pkthdr>?, data: inout UnsafePointer<UInt8>?) -> Int32 {
        pcap_next_ex(raw, &header, &data)
    }

    /// What a status of ``nextRecord(header:data:)`` means when it is not a record with data.
    func outcome(ofStatus status: Int32) -> NextPacket {
        switch status {
        case 1: return .error("libpcap returned a record without data")
        case 0: return .timeout
        case PCAP_ERROR_BREAK: return .end
        default: return .error(lastError)
        }
    }

    /// The corresponding C function is `pcap_geterr`.
    var lastError: String { pcap_geterr(raw).map { String(cString: $0) } ?? "unknown libpcap error" }
    /// The link type as a LINKTYPE_* value (what files store).
    /// The corresponding C function is `pcap_datalink`.
    var dataLink: UInt32 { linkTypeValue(dlt: pcap_datalink(raw)) }
    /// The corresponding C function is `pcap_snapshot`.
    var snapshotLength: Int { Int(pcap_snapshot(raw)) }
    /// Savefile format major version: 2 for classic pcap, 1 for pcapng.
    /// The corresponding C function is `pcap_major_version`.
    var majorVersion: Int { Int(pcap_major_version(raw)) }
    /// The corresponding C function is `pcap_is_swapped`.
    var isSwapped: Bool { pcap_is_swapped(raw) == 1 }
    /// The corresponding C function is `pcap_breakloop`.
    func breakLoop() { pcap_breakloop(raw) }
    /// The corresponding C function is `pcap_get_selectable_fd`.
    var selectableFileDescriptor: Int32? {
        let fd = pcap_get_selectable_fd(raw)
        return fd >= 0 ? fd : nil
    }

    /// Non-blocking reads: `pcap_next_ex` returns at once (``NextPacket/timeout``) when no packet waits.
    /// The corresponding C function is `pcap_setnonblock`.
    func setNonblocking(_ on: Bool) -> Result<Void, LibpcapMessage> {
        withErrorBuffer { errbuf in pcap_setnonblock(raw, on ? 1 : 0, errbuf) == 0 ? () : nil }
    }

    // MARK: live configuration (before activation)

    /// The corresponding C functions are `pcap_set_snaplen`, `pcap_set_promisc`,
    /// `pcap_set_immediate_mode`, `pcap_set_buffer_size`, `pcap_set_timeout`
    /// and `pcap_set_tstamp_precision`; each returns 0 or a negative `PCAP_ERROR_*`.
    func configure(snapshotLength: Int32, promiscuous: Bool, immediate: Bool, bufferSize: Int32, timeoutMilliseconds: Int32) -> Int32 {
        for status in [
            pcap_set_snaplen(raw, snapshotLength),
            pcap_set_promisc(raw, promiscuous ? 1 : 0),
            pcap_set_immediate_mode(raw, immediate ? 1 : 0),
            pcap_set_buffer_size(raw, bufferSize),
            pcap_set_timeout(raw, timeoutMilliseconds),
        ] where status != 0 { return status }
        // Nanosecond stamps when the platform has them; microseconds otherwise (not an error).
        _ = pcap_set_tstamp_precision(raw, Int32(PCAP_TSTAMP_PRECISION_NANO))
        return 0
    }

    /// Nanosecond timestamps in effect (else microseconds).
    /// The corresponding C function is `pcap_get_tstamp_precision`.
    var hasNanosecondTimestamps: Bool { pcap_get_tstamp_precision(raw) == PCAP_TSTAMP_PRECISION_NANO }

    /// Returns 0, a positive `PCAP_WARNING*` or a negative `PCAP_ERROR*`.
    /// The corresponding C function is `pcap_activate`.
    func activate() -> Int32 { pcap_activate(raw) }

    /// `PCAP_ERROR`, libpcap's status for an unspecified failure.
    static let genericErrorStatus: Int32 = PCAP_ERROR

    /// Maps a negative `pcap_activate` status to a typed error naming the interface.
    func activationError(status: Int32, interface: String) -> CaptureError {
        let detail = lastError.isEmpty ? Self.statusText(status) : lastError
        switch status {
        case PCAP_ERROR_NO_SUCH_DEVICE: return .noSuchDevice(interface: interface, reason: detail)
        case PCAP_ERROR_PERM_DENIED: return .permissionDenied(interface: interface, reason: detail)
        case PCAP_ERROR_PROMISC_PERM_DENIED: return .promiscuousPermissionDenied(interface: interface, reason: detail)
        case PCAP_ERROR_IFACE_NOT_UP: return .interfaceNotUp(interface: interface, reason: detail)
        default: return .activationFailed(interface: interface, status: status, reason: detail)
        }
    }

    /// The corresponding C function is `pcap_statustostr`.
    static func statusText(_ status: Int32) -> String { String(cString: pcap_statustostr(status)) }

    // MARK: filters and statistics

    /// Compiles a BPF filter for this handle's link type.
    /// The corresponding C function is `pcap_compile`.
    func compile(_ expression: String) -> Result<BPFProgram, LibpcapMessage> {
        let program = BPFProgram()
        guard pcap_compile(raw, &program.program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            return .failure(LibpcapMessage(lastError))
        }
        program.isCompiled = true
        return .success(program)
    }

    /// Installs `program` (in the kernel for live captures).
    /// The corresponding C function is `pcap_setfilter`.
    func setFilter(_ program: BPFProgram) -> Result<Void, LibpcapMessage> {
        pcap_setfilter(raw, &program.program) == 0 ? .success(()) : .failure(LibpcapMessage(lastError))
    }

    /// The corresponding C function is `pcap_stats`.
    func statistics() -> Result<pcap_stat, LibpcapMessage> {
        var stats = pcap_stat()
        return pcap_stats(raw, &stats) == 0 ? .success(stats) : .failure(LibpcapMessage(lastError))
    }

    // MARK: writing

    /// Opens `path` (`-` = standard output) for writing records of this handle's link type.
    /// The corresponding C function is `pcap_dump_open`.
    func openDumper(path: String) -> Result<PcapDumper, LibpcapMessage> {
        guard let dumper = pcap_dump_open(raw, path) else { return .failure(LibpcapMessage(lastError)) }
        return .success(PcapDumper(raw: dumper, owner: self))
    }
}

/// libpcap's API speaks DLT_* values, files store LINKTYPE_* values; they differ
/// only for raw IP, whose DLT_RAW varies by platform (12 on Linux) while LINKTYPE_RAW is 101.
private let linkTypeRaw: UInt32 = 101

private func linkTypeValue(dlt: Int32) -> UInt32 {
    dlt == DLT_RAW ? linkTypeRaw : UInt32(bitPattern: dlt)
}

private func dlt(linkType: UInt32) -> Int32 {
    linkType == linkTypeRaw ? DLT_RAW : Int32(bitPattern: linkType)
}

/// A compiled BPF program; freed on deinit.
final class BPFProgram {
    var program = bpf_program()
    var isCompiled = false

    /// Whether the record passes the filter.
    /// The corresponding C function is `pcap_offline_filter`.
    func matches(_ header: UnsafePointer<pcap_pkthdr>, _ data: UnsafeRawBufferPointer) -> Bool {
        guard let base = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        return pcap_offline_filter(&program, header, base) != 0
    }

    /// The corresponding C function is `pcap_freecode`.
    deinit { if isCompiled { pcap_freecode(&program) } }
}

/// An open savefile being written; closed on deinit.
final class PcapDumper {
    private var raw: OpaquePointer?
    /// Keeps the dead handle alive as long as the dumper.
    private let owner: PcapHandle

    init(raw: OpaquePointer, owner: PcapHandle) {
        self.raw = raw
        self.owner = owner
    }

    deinit { close() }

    /// Appends one record. The corresponding C function is `pcap_dump`.
    func write(seconds: Int, fraction: Int, capturedLength: UInt32, wireLength: UInt32, bytes: UnsafeRawBufferPointer) {
        guard let raw else { return }
        var header = pcap_pkthdr()
        header.ts.tv_sec = seconds
        header.ts.tv_usec = fraction
        header.caplen = capturedLength
        header.len = wireLength
        let user = UnsafeMutableRawPointer(raw).assumingMemoryBound(to: UInt8.self)
        if let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            pcap_dump(user, &header, base)
        } else {
            var zero: UInt8 = 0  // libpcap wants a valid address even for zero bytes
            pcap_dump(user, &header, &zero)
        }
    }

    /// Returns false when the data could not be written.
    /// The corresponding C function is `pcap_dump_flush`.
    func flush() -> Bool {
        guard let raw else { return false }
        return pcap_dump_flush(raw) == 0
    }

    /// The corresponding C function is `pcap_dump_close`.
    func close() {
        if let raw { pcap_dump_close(raw) }
        raw = nil
    }
}

// MARK: files

/// Why a file could not be opened for reading.
enum FileOpenFailure: Error {
    case missing
    case system(String)
    case libpcap(String)
}

extension PcapHandle {
    /// The stdio buffer of a savefile read from a path.
    static let fileBufferSize = 65_536

    /// Opens the savefile at `path` (`-` = standard input) with a 64 KiB stdio
    /// buffer (1.6x faster than the default on large captures). Standard input
    /// is duplicated first so that closing the capture leaves the process's stdin alone.
    static func openOffline(path: String) -> Result<PcapHandle, FileOpenFailure> {
        let file: UnsafeMutablePointer<FILE>?
        if path == "-" {
            let fd = dup(STDIN_FILENO)
            guard fd >= 0 else { return .failure(.system(errnoText(errno))) }
            file = fdopen(fd, "rb")
            if file == nil {
                let code = errno
                _ = close(fd)
                return .failure(.system(errnoText(code)))
            }
        } else {
            file = fopen(path, "rb")
        }
        guard let file else { return .failure(errno == ENOENT ? .missing : .system(errnoText(errno))) }
        // glibc ignores the size when `setvbuf` is given no buffer (the `FILE` keeps its 4 KiB
        // one: a read syscall per 4 KiB), so the buffer is ours. 64 KiB read the bench
        // capture's 1.1 GB in 17 k reads instead of 272 k; 256 KiB and 1 MiB were slower.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.fileBufferSize, alignment: 64)
        setvbuf(file, buffer.assumingMemoryBound(to: CChar.self), _IOFBF, Self.fileBufferSize)
        return openOffline(file: file, fileBuffer: buffer).mapError { .libpcap($0.text) }
    }

    /// The logical read position in the savefile, or nil when the input cannot
    /// seek (a pipe). Costs one `lseek`.
    /// The corresponding C function is `pcap_file` (then `ftell`).
    var readPosition: Int? {
        guard let file = pcap_file(raw) else { return nil }
        let position = ftell(file)
        return position >= 0 ? position : nil
    }
}

/// What `stat` says about a path before opening it.
enum PathKind {
    case missing, directory, other, file
}

func pathKind(_ path: String) -> PathKind {
    var info = stat()
    guard stat(path, &info) == 0 else { return errno == ENOENT ? .missing : .other }
    return (info.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
}

/// The C library's text for an errno value.
func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }
