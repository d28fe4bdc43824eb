import CSwxlFuzz
import Foundation
import SwxlFuzzTargets

/// `swxl-fuzz TARGET [libFuzzer options] [CORPUS...]` under scripts/fuzz,
/// which builds it with `-sanitize=fuzzer,address -DSWXL_FUZZ`. Built
/// normally (as `swift build` does), it replays inputs instead:
/// `swxl-fuzz TARGET FILE...` runs each file through the target once.
@main struct SwxlFuzz {
    static func main() {
        var arguments = CommandLine.arguments
        guard arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("usage: swxl-fuzz TARGET ARGS... (targets: \(names))\n".utf8))
            exit(2)
        }
        arguments.remove(at: 1)
        #if SWXL_FUZZ
        current = target
        var argc = CInt(arguments.count)
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let status = cArguments.withUnsafeMutableBufferPointer { buffer in
            var argv = buffer.baseAddress
            return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                current.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
                return 0
            }
        }
        exit(status)
        #else
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("swxl-fuzz: cannot read \(path)\n".utf8))
                exit(1)
            }
            target.run(Array(data))
        }
        #endif
    }
}

#if SWXL_FUZZ
/// The target libFuzzer's callback runs (a C callback captures nothing).
nonisolated(unsafe) var current = FuzzTarget.frameDecoder
#endif
