import Foundation
import Testing
import TestSupport

@Test func regressionsFolderExists() {
    var isDirectory: ObjCBool = false
    let path = PackagePaths.captures.appendingPathComponent("regressions").path
    #expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
}
