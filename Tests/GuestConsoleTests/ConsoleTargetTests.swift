import GuestConsole
import Testing

/// The xenstore key of each console, as xenconsole computes it
/// (tools/console/client/main.c, Xen 4.17).
@Suite struct ConsoleTargetTests {
    @Test func keysAreXenconsoles() {
        let d = "/local/domain/7"
        let cases: [(ConsoleTarget, Bool, String)] = [
            (ConsoleTarget(domid: 7, kind: .pv), false, d + "/console/tty"),
            (ConsoleTarget(domid: 7, kind: .pv, number: 2), false, d + "/device/console/2/tty"),
            (ConsoleTarget(domid: 7, kind: .serial, number: 1), true, d + "/serial/1/tty"),
            // No serial key: the PV console of that number.
            (ConsoleTarget(domid: 7, kind: .serial, number: 0), false, d + "/console/tty"),
            (ConsoleTarget(domid: 7, kind: .serial, number: 3), false, d + "/device/console/3/tty"),
            (ConsoleTarget(domid: 7, kind: .vuart, number: 4), false, d + "/vuart/0/tty"),
        ]
        for (target, serial, key) in cases {
            #expect(target.ttyKey(domainPath: d, serialExists: serial) == key, "\(target)")
        }
        #expect(ConsoleTarget.primary(domid: 7, isHVM: true) == ConsoleTarget(domid: 7, kind: .serial))
        #expect(ConsoleTarget.primary(domid: 7, isHVM: false) == ConsoleTarget(domid: 7, kind: .pv))
    }
}
