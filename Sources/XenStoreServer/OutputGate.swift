import XenStoreProtocol

/// The group commit's gate: while the store holds changes not yet
/// committed, every message (replies and watch events, in order) waits here,
/// so that nothing is sent that depends on a change not yet durable.
final class OutputGate {
    /// A message held back until the group of changes before it is committed.
    struct Held {
        var target: ConnectionID
        var message: XSMessage
        /// The request whose reply this is, if it is a reply to one that
        /// changed the tree (its header: all an error reply needs).
        var changedBy: XSHeader?
        /// An event caused by a request that changed the tree.
        var fromChange: Bool
    }

    /// Output waiting for ``release(committed:_:)``, in order.
    private var held: [Held] = []
    /// The spare buffer ``release(committed:_:)`` swaps with.
    private var releasing: [Held] = []

    var isHolding: Bool { !held.isEmpty }

    func hold(_ entry: Held) {
        held.append(entry)
    }

    /// Hands each held message to `send` in order, once the group was
    /// committed: as is, or, if the commit failed (`failure`), that error
    /// for the requests whose changes were lost and nil (nothing to send)
    /// for their watch events.
    func release(failure: XSError?, _ send: (ConnectionID, XSMessage?) -> Void) {
        guard !held.isEmpty else { return }
        swap(&releasing, &held)
        defer { releasing.removeAll(keepingCapacity: true) }
        for entry in releasing {
            guard let failure else {
                send(entry.target, entry.message)
                continue
            }
            if let request = entry.changedBy {
                send(entry.target, request.errorReply(failure))
            } else {
                send(entry.target, entry.fromChange ? nil : entry.message)
            }
        }
    }
}

extension SocketServer {
    /// Takes what the store produced for `request`: sent at once, or held
    /// in the ``OutputGate`` once the store holds uncommitted changes.
    func drainOutbox(request: XSHeader, from client: ClientConnection) {
        // Swapping with a spare array (emptied below, capacity kept) hands the
        // store an empty outbox without allocating one per request, as copying
        // it out and then emptying the shared buffer would.
        swap(&outbox, &store.outbox)
        // (Emptied from the end: removeAll goes through the generic replaceSubrange.)
        defer { while outbox.popLast() != nil {} }
        guard store.hasUncommittedChanges || gate.isHolding else {
            // Mostly the reply to `client` alone: no lookup for it.
            for (id, message) in outbox {
                if id == client.id { enqueue(message, to: client) } else { enqueue(message, to: id) }
            }
            return
        }
        let changed = store.lastRequestChanged
        for (index, (id, message)) in outbox.enumerated() {
            let isReply = index == 0 && id == client.id
            gate.hold(.init(target: id, message: message, changedBy: changed && isReply ? request : nil, fromChange: changed && !isReply))
            countQueued(id, 1)
        }
    }

    /// Commits the store's group of changes, then queues what the gate
    /// held. Called after every request and round; with nothing to commit
    /// and nothing held (always so in memory only, as on a Xen host), it
    /// is these two loads and no call.
    @inline(__always)
    func commitGroup() {
        if store.commitIsDue || gate.isHolding { commitHeldGroup() }
    }

    private func commitHeldGroup() {
        let failure = store.commitBatch()
        gate.release(failure: failure) { target, message in
            countQueued(target, -1)
            if let message { enqueue(message, to: target) }
        }
    }
}
