import Foundation

/// Locations of the package's own files, for tests.
public enum PackagePaths {
    /// The package root (the folder holding Package.swift), found from this source file.
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// `captures/` at the package root.
    public static var captures: URL { root.appendingPathComponent("captures") }
}
