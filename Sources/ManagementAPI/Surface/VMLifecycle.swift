extension XenAPISurface {
    func registerVMLifecycle() {}
}
