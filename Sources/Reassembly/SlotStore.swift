/// The reassembler's slots: each open flow's state and its bookkeeping (``SlotLink``), in
/// two blocks of memory reached by pointer. A segment reads and writes its slot in place:
/// an array here cost a uniqueness check and a closure per access, two or three per segment.
///
/// Shared between copies of a ``TCPReassembler`` until one of them changes something:
/// the reassembler calls ``isKnownUniquelyReferenced(_:)`` once per call and copies the whole
/// store when it is shared (value semantics, as before). Slot indices come from the
/// reassembler alone (never from the wire); accesses check them with a precondition.
final class SlotStore {
    @exclusivity(unchecked) private(set) var flows: UnsafeMutablePointer<FlowState>
    @exclusivity(unchecked) private(set) var links: UnsafeMutablePointer<SlotLink>
    /// Slots in use (live or free); slots `0..<count` are initialized.
    @exclusivity(unchecked) private(set) var count = 0
    @exclusivity(unchecked) private var capacity: Int

    init(capacity: Int = 16) {
        self.capacity = max(capacity, 1)
        flows = .allocate(capacity: self.capacity)
        links = .allocate(capacity: self.capacity)
    }

    deinit {
        flows.deinitialize(count: count)
        flows.deallocate()
        links.deinitialize(count: count)
        links.deallocate()
    }

    /// A store holding copies of every slot (for copy-on-write). Each copied flow gets tail
    /// boxes of its own, so that the flows of a store never share one with another store's:
    /// the in-order path writes a flow's box without a uniqueness check (`tailOwned`).
    func copy() -> SlotStore {
        let copy = SlotStore(capacity: capacity)
        copy.flows.initialize(from: flows, count: count)
        copy.links.initialize(from: links, count: count)
        copy.count = count
        for slot in 0..<count {
            copy.flows[slot].client.ownTailBox()
            copy.flows[slot].server.ownTailBox()
        }
        return copy
    }

    /// Slots allocated (tests: growth follows the open flows).
    var allocatedSlots: Int { capacity }

    /// Adds a slot at index ``count``.
    func append(_ flow: consuming FlowState, _ link: SlotLink) {
        if count == capacity { grow() }
        (flows + count).initialize(to: consume flow)
        (links + count).initialize(to: link)
        count += 1
    }

    /// Half as many slots again (not twice): the store holds every open flow's state, and a
    /// doubling just past a round number of open connections left up to half of it unused.
    private func grow() {
        let larger = capacity + max(1, capacity / 2)
        let newFlows = UnsafeMutablePointer<FlowState>.allocate(capacity: larger)
        let newLinks = UnsafeMutablePointer<SlotLink>.allocate(capacity: larger)
        newFlows.moveInitialize(from: flows, count: count)
        newLinks.moveInitialize(from: links, count: count)
        flows.deallocate()
        links.deallocate()
        flows = newFlows
        links = newLinks
        capacity = larger
    }
}

/// One slot's bookkeeping besides its flow state: whether it holds a flow, and its place in
/// the least-recently-active list (an intrusive list over slot indices).
struct SlotLink {
    var previous: Int32 = -1
    var next: Int32 = -1
    /// The clock when the flow last had a packet. Non-decreasing from head to tail with a
    /// clock (it is the latest time so far), so idle expiry can stop at the first live flow.
    var clock: Int64
    var live: Bool
}
