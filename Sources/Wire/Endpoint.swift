/// One end of a TCP connection.
public struct Endpoint: Hashable, Sendable {
    public var address: IPAddress
    public var port: UInt16

    @inlinable
    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }
}
