import CLibpcap

/// The libpcap version string, e.g. `libpcap version 1.10.3 (with TPACKET_V3)`.
/// The corresponding C function is `pcap_lib_version`.
public var libpcapVersion: String { String(cString: pcap_lib_version()) }
