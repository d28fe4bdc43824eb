/// Which of a domain's consoles to attach to, and the xenstore key where
/// its pseudo-terminal's path is published.
///
/// The keys are xenconsole's (tools/console/client/main.c, Xen 4.17), the
/// program xl's `console` runs: under the domain's path, `console/tty` for
/// the first PV console, `device/console/N/tty` for the others,
/// `serial/N/tty` for an HVM guest's emulated serial ports (falling back to
/// the PV console when the domain has no such key), and `vuart/0/tty`.
public struct ConsoleTarget: Sendable, Equatable {
    /// xl's and xenconsole's console types.
    public enum Kind: String, Sendable, CaseIterable {
        case pv, serial, vuart
    }

    public var domid: UInt32
    public var kind: Kind
    public var number: UInt32

    public init(domid: UInt32, kind: Kind, number: UInt32 = 0) {
        self.domid = domid
        self.kind = kind
        self.number = number
    }

    /// The domain's primary console, as libxl chooses it
    /// (libxl_console.c, libxl__primary_console_find): the first serial port
    /// of an HVM guest, the first PV console of any other.
    public static func primary(domid: UInt32, isHVM: Bool) -> ConsoleTarget {
        ConsoleTarget(domid: domid, kind: isHVM ? .serial : .pv, number: 0)
    }

    /// The key holding the pty's path, under `domainPath`
    /// (`/local/domain/<domid>`). `serialExists` says whether the domain has
    /// `serial/<number>/tty` at all: without it a serial console is its PV
    /// console, as xenconsole falls back.
    public func ttyKey(domainPath: String, serialExists: Bool) -> String {
        switch kind {
        case .serial where serialExists:
            return "\(domainPath)/serial/\(number)/tty"
        case .pv, .serial:
            return number == 0 ? "\(domainPath)/console/tty" : "\(domainPath)/device/console/\(number)/tty"
        case .vuart:
            return "\(domainPath)/vuart/0/tty"
        }
    }

    /// The serial key `ttyKey` looks for before falling back.
    public func serialKey(domainPath: String) -> String { "\(domainPath)/serial/\(number)/tty" }
}
