#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack

/// The progress of a save, restore or migration on standard error:
/// `Saving memory: 12288/32768 pages  37%  412.3 MB/s`. Shown only when
/// standard error is a terminal and not `quiet`. As xl's logger shows
/// progress (xtl_logger_stdio.c): with xl's global `-t`, one line rewritten
/// in place (at most ten times a second, and once at the end); without it,
/// a line each time the percentage has gone 5 up (each time it changes with
/// `-v`), and the last.
final class ProgressLine {
    let label: String
    let enabled: Bool
    private var started: UInt64 = 0
    private var lastShown: UInt64 = 0
    private var lastText = ""
    private var shownAny = false
    private var lastPercent: UInt64?

    init(_ label: String, quiet: Bool) {
        self.label = label
        self.enabled = !quiet && isatty(2) == 1
    }

    /// ``update(_:_:)`` when the line is shown, else nil: a restore given
    /// nil does no work to count its pages (see `Hypervisor.restoreImage`).
    var reporter: ((UInt64, UInt64) -> Void)? { enabled ? update : nil }

    /// `done` of `total` pages (4 KiB each).
    func update(_ done: UInt64, _ total: UInt64) {
        guard enabled else { return }
        let now = SystemClock.monotonicNanoseconds()
        if started == 0 { started = now }
        if !XLInvocation.progressUsesCR {
            let percent = total == 0 ? 100 : min(100, done * 100 / total)
            if let last = lastPercent {
                guard percent > last else { return }
                if percent < last + 5 && XLInvocation.verbosity == 0 && done < total { return }
            }
            lastPercent = percent
            Terminal.err(DomainCLI.logPrefix() + Self.text(label: label, done: done, total: total, elapsedNs: now - started) + "\n")
            return
        }
        guard done >= total || now - lastShown >= 100_000_000 else { return }
        lastShown = now
        let text = Self.text(label: label, done: done, total: total, elapsedNs: now - started)
        guard text != lastText else { return }
        lastText = text
        shownAny = true
        Terminal.err("\r" + text + "\u{1B}[K")
    }

    /// Ends the line (if one was shown).
    func finish() {
        guard enabled, shownAny, XLInvocation.progressUsesCR else { return }
        Terminal.err("\n")
        shownAny = false
    }

    /// The line's text: pages, percent, and MB/s (10^6 bytes a second) once time has passed.
    static func text(label: String, done: UInt64, total: UInt64, elapsedNs: UInt64) -> String {
        let percent = total == 0 ? 100 : min(100, done * 100 / total)
        var text = "\(label): \(done)/\(total) pages  \(percent)%"
        if elapsedNs >= 1_000_000 {
            let mbps = Double(done) * 4096 / (Double(elapsedNs) / 1e9) / 1e6
            text += "  " + DecimalText.fixed(mbps, places: 1) + " MB/s"
        }
        return text
    }
}
