import Foundation
import TestSupport
import Testing

@Test func regressionsFolderExists() {
    var isDirectory: ObjCBool = false
    let path = PackagePaths.captures.appendingPathComponent("regressions").path
    #expect(
        FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    )
}
