import ArgumentParser
import XenStoreClient
import XenStoreProtocol

/// `swxl store ...` and `swxl xenstored`.
var storeCommands: [any ParsableCommand.Type] {
    [
        Store.self,
        Xenstored.self,
    ]
}

/// `swxl store`: xenstore from the command line, like Xen's `xenstore-*` tools.
struct Store: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Read and change xenstore, like Xen's xenstore-* tools.",
        discussion: """
            Talks to the daemon libxenstore would use: $XENSTORED_PATH, else the system's \
            xenstored, else the xenbus device; on a host without Xen, swxl's own daemon \
            (started in the background when needed). Exit status: 0 success, 1 failure.
            """,
        subcommands: [
            StoreRead.self, StoreWrite.self, StoreLs.self, StoreList.self, StoreExists.self,
            StoreRm.self, StoreMkdir.self, StoreChmod.self, StoreGetperms.self, StoreWatch.self,
            StoreTransaction.self,
        ]
    )
}

struct StoreRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Print the values at paths (several: read in one transaction).")

    @Flag(name: .shortAndLong, help: "Print each value after its path and ': '.") var prefix = false
    @Flag(name: [.customShort("R"), .long], help: "Print values as they are, without escapes or newline.") var raw = false
    @Flag(help: "Print a JSON object from path to value.") var json = false
    @Argument(help: "The paths to read.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("read")
        let values = try StoreCLI.perform("read", store, atomically: paths.count > 1) { ops in
            var values: [[UInt8]] = []
            for path in paths {
                values.append(try StoreCLI.attempt("couldn't read path \(path)") { () throws(XenStoreError) in try ops.read(path) })
            }
            return values
        }
        if json {
            Terminal.out(XenStoreJSON.object(zip(paths, values).map { ($0, XenStoreJSON.quoted(bytes: $1)) }) + "\n")
            return
        }
        var out: [UInt8] = []
        for (path, value) in zip(paths, values) {
            if prefix { out += Array("\(path): ".utf8) }
            if raw { out += value } else { out += Array((XenStoreText.sanitise(value) + "\n").utf8) }
        }
        Terminal.out(bytes: out)
    }
}

struct StoreWrite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "Write values: path value [path value ...] (several: in one transaction).")

    @Flag(name: [.customShort("R"), .long], help: "Take values as they are: no backslash escapes.") var raw = false
    @Argument(help: "Path and value pairs. Values take xenstore-write's escapes (\\n, \\t, \\xNN, \\ooo, \\\\).")
    var pairs: [String]

    func validate() throws {
        guard pairs.count % 2 == 0 else { throw ValidationError("Expected path and value pairs: an even number of arguments.") }
    }

    func run() throws {
        let store = try StoreCLI.connect("write")
        let writes = stride(from: 0, to: pairs.count, by: 2).map { i in
            (pairs[i], raw ? Array(pairs[i + 1].utf8) : XenStoreText.unsanitise(pairs[i + 1]))
        }
        try StoreCLI.perform("write", store, atomically: writes.count > 1) { ops in
            for (path, value) in writes {
                try StoreCLI.attempt("could not write path \(path)") { () throws(XenStoreError) in try ops.write(path, value) }
            }
        }
    }
}

struct StoreLs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "Print the tree below a path with values, as xenstore-ls does.")

    @Flag(name: .shortAndLong, help: "Full paths instead of an indented tree; nothing is cut.") var full = false
    @Flag(name: [.customShort("p"), .long], help: "Show each node's permissions.") var permissions = false
    @Flag(help: "Print a JSON array of {path, value[, perms]}.") var json = false
    @Argument(help: "Where to start.") var path = "/"

    func run() throws {
        let store = try StoreCLI.connect("ls")
        var format = XenStoreListing.Format(permissions: permissions, fullPaths: full)
        if let columns = StoreCLI.terminalColumns() { format.width = columns - 2 }
        var out: [UInt8] = []
        var first = true
        if json { out += Array("[".utf8) }
        do {
            try XenStoreListing.walk(store, path, permissions: permissions) { node in
                if json {
                    out += Array(((first ? "" : ",") + XenStoreListing.json(node)).utf8)
                    first = false
                } else {
                    out += Array(XenStoreListing.line(node, format).utf8)
                    if case .failure(let error)? = node.permissions {
                        Terminal.out(bytes: out)
                        out.removeAll()
                        StoreCLI.warn("ls", "\ncould not access permissions for \(node.name): \(StoreCLI.reason(error))")
                    }
                }
                if out.count >= 1 << 16 {
                    Terminal.out(bytes: out)
                    out.removeAll(keepingCapacity: true)
                }
            }
        } catch {
            Terminal.out(bytes: out)
            throw StoreCLI.fail("ls", "xs_directory (\(path)): \(StoreCLI.reason(error))")
        }
        if json { out += Array("]\n".utf8) }
        Terminal.out(bytes: out)
    }
}

struct StoreList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Print the names of a path's children, one per line.")

    @Flag(name: .shortAndLong, help: "Print full paths, not just names.") var prefix = false
    @Flag(help: "Print a JSON object from path to its children.") var json = false
    @Argument(help: "The paths to list.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("list")
        let lists = try StoreCLI.perform("list", store, atomically: paths.count > 1) { ops in
            var lists: [[String]] = []
            for path in paths {
                lists.append(try StoreCLI.attempt("could not list path \(path)") { () throws(XenStoreError) in try ops.directory(path) })
            }
            return lists
        }
        if json {
            Terminal.out(XenStoreJSON.object(zip(paths, lists).map {
                ($0, XenStoreJSON.array($1.map(XenStoreJSON.quoted)))
            }) + "\n")
            return
        }
        var text = ""
        for (path, names) in zip(paths, lists) {
            let base = path == "/" ? "" : path
            for name in names { text += prefix ? "\(base)/\(name)\n" : "\(name)\n" }
        }
        Terminal.out(text)
    }
}

struct StoreExists: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exists", abstract: "Exit 0 if every path exists, 1 if one does not. Prints nothing.")

    @Argument(help: "The paths to test.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("exists")
        let all = try StoreCLI.perform("exists", store, atomically: paths.count > 1) { ops in
            for path in paths {
                // As xenstore-exists: any answer but the value means no, silently.
                do {
                    _ = try ops.read(path)
                } catch let error as XenStoreError where error.xsError != nil && error.xsError != .EAGAIN {
                    return false
                }
            }
            return true
        }
        if !all { throw ExitCode(1) }
    }
}

struct StoreRm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove paths and everything below them.")

    @Flag(name: .shortAndLong, help: "Also remove parents left empty (no value, no children).") var tidy = false
    @Argument(help: "The paths to remove.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("rm")
        try StoreCLI.perform("rm", store, atomically: paths.count > 1 || tidy) { ops in
            for path in paths {
                var target = path
                while true {
                    try StoreCLI.attempt("could not remove path \(target)") { () throws(XenStoreError) in try ops.rm(target) }
                    guard tidy, let slash = target.lastIndex(of: "/") else { break }
                    let parent = String(target[..<slash])
                    // As xenstore-rm -t: go up while the parent has no value and no children.
                    guard !parent.isEmpty,
                          let value = try? ops.read(parent), value.isEmpty,
                          let children = try? ops.directory(parent), children.isEmpty else { break }
                    target = parent
                }
            }
        }
    }
}

struct StoreMkdir: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mkdir", abstract: "Create paths (and missing parents) with empty values.")

    @Argument(help: "The paths to create.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("mkdir")
        try StoreCLI.perform("mkdir", store, atomically: paths.count > 1) { ops in
            for path in paths {
                try StoreCLI.attempt("could not create path \(path)") { () throws(XenStoreError) in try ops.mkdir(path) }
            }
        }
    }
}

struct StoreChmod: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chmod", abstract: "Set a path's permissions: the first names the owner and everyone else's access.",
        discussion: "Each permission is n (none), r (read), w (write) or b (both) followed by a domid, e.g. n0 r5.")

    @Flag(name: .shortAndLong, help: "Also set them on everything below the path.") var recursive = false
    @Flag(name: .shortAndLong, help: "Also set them on every parent up to the root.") var upto = false
    @Argument(help: "The path.") var path: String
    @Argument(help: "The permissions, e.g. n0 r5.") var permissions: [String]

    func run() throws {
        var entries: [XSPermission] = []
        for text in permissions {
            guard let entry = XSPermission(text) else {
                throw StoreCLI.fail("chmod", "Invalid permission specification: '\(text)'")
            }
            entries.append(entry)
        }
        let perms = XSPermissions(entries)!
        let store = try StoreCLI.connect("chmod")
        try StoreCLI.perform("chmod", store, atomically: recursive || upto) { ops in
            func set(_ target: String, recurse: Bool) throws {
                try StoreCLI.attempt("Error occurred setting permissions on '\(target)'") { () throws(XenStoreError) in
                    try ops.setPermissions(target, perms)
                }
                if recurse, let children = try? ops.directory(target) {
                    for child in children { try set(XSPath.join(target, child), recurse: true) }
                }
            }
            try set(path, recurse: recursive)
            if upto {
                var parent = path
                while let slash = parent.lastIndex(of: "/"), slash != parent.startIndex {
                    parent = String(parent[..<slash])
                    try set(parent, recurse: false)
                }
            }
        }
    }
}

struct StoreGetperms: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "getperms", abstract: "Print paths' permissions, e.g. n0,r5 (owner first).")

    @Flag(name: .shortAndLong, help: "Print each after its path and ': '.") var prefix = false
    @Flag(help: "Print a JSON object from path to its permission list.") var json = false
    @Argument(help: "The paths.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("getperms")
        let all = try StoreCLI.perform("getperms", store, atomically: paths.count > 1) { ops in
            var all: [XSPermissions] = []
            for path in paths {
                all.append(try StoreCLI.attempt("could not access permissions for \(path)") { () throws(XenStoreError) in
                    try ops.getPermissions(path)
                })
            }
            return all
        }
        if json {
            Terminal.out(XenStoreJSON.object(zip(paths, all).map {
                ($0, XenStoreJSON.array($1.entries.map { XenStoreJSON.quoted($0.description) }))
            }) + "\n")
            return
        }
        Terminal.out(zip(paths, all).map { (prefix ? "\($0): " : "") + $1.description + "\n" }.joined())
    }
}

struct StoreWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Print 'path token' for each change at or below the paths (the token is the watched path).",
        discussion: "Each watch fires once when set. Runs until killed, or until -n events.")

    @Option(name: [.customShort("n"), .long], help: "Stop after this many events.") var number: Int?
    @Flag(help: "Print one JSON object {path, token} per line.") var json = false
    @Argument(help: "Paths (or @introduceDomain, @releaseDomain) to watch.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("watch")
        for path in paths {
            do { try store.watch(path, token: path) } catch {
                throw StoreCLI.fail("watch", "Unable to add watch on \(path): \(StoreCLI.reason(error))")
            }
        }
        var seen = 0
        while number.map({ seen < $0 }) ?? true {
            let event: XenStoreWatchEvent?
            do { event = try store.nextWatchEvent() } catch {
                throw StoreCLI.fail("watch", "\(StoreCLI.reason(error))")
            }
            guard let event else { continue }
            seen += 1
            Terminal.out(json
                ? XenStoreJSON.object([("path", XenStoreJSON.quoted(event.path)), ("token", XenStoreJSON.quoted(event.token))]) + "\n"
                : "\(event.path) \(event.token)\n")
        }
    }
}

struct StoreTransaction: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transaction",
        abstract: "Run a batch of operations atomically, retrying when another change conflicts.",
        discussion: """
            Operations come as arguments, one per argument, or else one per line on stdin:
              read PATH | write PATH VALUE | mkdir PATH | rm PATH | list PATH
              exists PATH | getperms PATH | chmod PATH PERM...
            VALUE is the rest of the line and takes xenstore-write's escapes. 'exists' fails the \
            batch when PATH is missing. Blank lines and lines starting with # are skipped. Output \
            (values, children, permissions, in order) is printed once the batch has committed; \
            on any failure nothing is changed.
            """)

    @Flag(help: "Print a JSON array of {op, path[, value|children|perms]}.") var json = false
    @Argument(help: "Operations, e.g. 'write /a 1' 'read /b'. None: read them from stdin.") var operations: [String] = []

    func run() throws {
        let lines = operations.isEmpty ? StoreCLI.readStandardInput().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) : operations
        var batch: [(line: Int, op: XenStoreBatch.Operation)] = []
        for (index, line) in lines.enumerated() {
            do {
                if let op = try XenStoreBatch.parse(line) { batch.append((index + 1, op)) }
            } catch {
                throw StoreCLI.fail("transaction", "line \(index + 1): \(error)")
            }
        }
        let store = try StoreCLI.connect("transaction")
        let outputs = try StoreCLI.perform("transaction", store, atomically: true) { ops in
            var outputs: [XenStoreBatch.Output] = []
            for (line, op) in batch {
                outputs.append(try StoreCLI.attempt("line \(line): \(XenStoreBatch.failureMessage(op))") { () throws(XenStoreError) in
                    try XenStoreBatch.run(op, in: ops)
                })
            }
            return outputs
        }
        if json {
            Terminal.out(XenStoreJSON.array(zip(batch, outputs).map { XenStoreBatch.json($0.op, $1) }) + "\n")
        } else {
            Terminal.out(outputs.map(XenStoreBatch.text).joined())
        }
    }
}
