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
