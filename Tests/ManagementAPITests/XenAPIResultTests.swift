import Testing
@testable import ManagementAPI

@Suite struct XenAPIResultTests {
    @Test func failureTakesTheCodeThenItsArguments() {
        #expect(XenAPIResult.failure("HANDLE_INVALID", "VM", "OpaqueRef:x")
                == .failure(["HANDLE_INVALID", "VM", "OpaqueRef:x"]))
    }
}
