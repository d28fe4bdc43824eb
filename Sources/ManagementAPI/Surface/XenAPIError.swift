import Toolstack

/// A XenAPI failure: XAPI's `ErrorDescription`, the code then its arguments.
/// The codes are XAPI's (ocaml/idl/datamodel_errors.ml), with their arguments
/// in XAPI's order.
struct XenAPIError: Error, Equatable {
    var description: [String]

    init(_ code: String, _ args: [String] = []) { description = [code] + args }

    static func sessionInvalid(_ ref: String) -> XenAPIError { .init("SESSION_INVALID", [ref]) }
    static func authenticationFailed() -> XenAPIError {
        .init("SESSION_AUTHENTICATION_FAILED", ["", "Authentication failure"])
    }
    static func methodUnknown(_ method: String) -> XenAPIError { .init("MESSAGE_METHOD_UNKNOWN", [method]) }
    /// Counts include the session, as XAPI counts them.
    static func countMismatch(_ method: String, expected: Int, received: Int) -> XenAPIError {
        .init("MESSAGE_PARAMETER_COUNT_MISMATCH", [method, "\(expected)", "\(received)"])
    }
    static func handleInvalid(_ cls: String, _ ref: String) -> XenAPIError { .init("HANDLE_INVALID", [cls, ref]) }
    static func uuidInvalid(_ cls: String, _ uuid: String) -> XenAPIError { .init("UUID_INVALID", [cls, uuid]) }
    /// XAPI's power states in its error: lower case (`halted`, `running`).
    static func badPowerState(_ vm: String, expected: String, actual: String) -> XenAPIError {
        .init("VM_BAD_POWER_STATE", [vm, expected.lowercased(), actual.lowercased()])
    }
    static func notAllowed(_ why: String) -> XenAPIError { .init("OPERATION_NOT_ALLOWED", [why]) }
    static func internalError(_ why: String) -> XenAPIError { .init("INTERNAL_ERROR", [why]) }
    /// A parameter of the wrong type (XAPI's FIELD_TYPE_ERROR names the parameter).
    static func fieldType(_ name: String) -> XenAPIError { .init("FIELD_TYPE_ERROR", [name]) }
    static func memoryConstraint(_ why: String) -> XenAPIError { .init("MEMORY_CONSTRAINT_VIOLATION", [why]) }
    static func mapKeyNotFound(_ key: String) -> XenAPIError { .init("MAP_KEY_NOT_FOUND", [key]) }
    /// An Async call's task cancelled at a point where nothing was changed yet (or a wait given up).
    static func taskCancelled(_ task: String) -> XenAPIError { .init("TASK_CANCELLED", [task]) }

    /// A toolstack failure in XAPI's terms: what the toolstack refused as
    /// not allowed, the rest an internal error with the toolstack's words.
    static func toolstack(_ error: ToolstackError) -> XenAPIError {
        switch error {
        case .invalid(let m), .notSupported(let m): .notAllowed(m)
        case .nameInUse, .nameDefined, .badPowerState: .notAllowed(error.description)
        default: .internalError(error.description)
        }
    }
}
