/// Placeholder: filled in by the event hub (next step).
final class EventHub: @unchecked Sendable {
    unowned let surface: XenAPISurface
    init(surface: XenAPISurface) { self.surface = surface }
    func startWatching(storeSocket: String) {}
    func stop() {}
    func poke() {}
    func taskChanged(_ ref: String, deleted: Bool = false) {}
}

extension XenAPISurface {
    func registerEvents() {}
}
