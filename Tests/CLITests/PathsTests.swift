import Foundation
import Testing
import TestSupport

@Test func packageRootHoldsPackageSwift() {
    #expect(FileManager.default.fileExists(atPath: PackagePaths.root.appendingPathComponent("Package.swift").path))
}
