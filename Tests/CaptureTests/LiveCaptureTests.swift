import Capture
import Testing

@Test func missingInterfaceIsATypedError() {
    #expect {
        try LiveCapture(interface: "smtpscope-none0")
    } throws: { error in
        guard case CaptureError.noSuchDevice(let interface, _) = error else { return false }
        return interface == "smtpscope-none0" && "\(error)".contains("tcpdump -D")
    }
}

@Test func permissionMessageNamesTheCapability() {
    let error = CaptureError.permissionDenied(interface: "eth0", reason: "socket: Operation not permitted")
    #expect(error.description.contains("CAP_NET_RAW") && error.description.hasPrefix("eth0: permission denied"))
}
