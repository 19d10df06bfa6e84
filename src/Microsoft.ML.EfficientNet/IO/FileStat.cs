using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Microsoft.ML.EfficientNet.IO;

/// <summary>What kind of thing a path names, after following links.</summary>
internal enum FileKind
{
    /// <summary>Nothing (or a link to nothing).</summary>
    Missing,

    /// <summary>A regular file: the only kind read as an image, weights or a model.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A FIFO, socket or device: opening it for reading can block forever or never end.</summary>
    Special,
}

/// <summary>
/// The kind, size and identity of a path, from the file system's metadata alone: nothing is opened, so a FIFO named
/// <c>.png</c> is recognised without blocking, and a file's size is known before any of it is read. .NET reports FIFOs,
/// sockets and devices as ordinary files, so on Linux this asks the kernel (<c>statx</c>, whose layout is the same on
/// every architecture); elsewhere it falls back to .NET's view.
/// </summary>
internal readonly record struct FileStat(FileKind Kind, long Length, string Identity)
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1, StatxIno = 0x100, StatxSize = 0x200;
    private const int ModeOffset = 28, InoOffset = 32, SizeOffset = 40, DevMajorOffset = 136, DevMinorOffset = 140;
    private static bool _statxMissing;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
#pragma warning disable SYSLIB1054, CA5392 // A plain P/Invoke of one libc call; no marshalling beyond a pinned buffer.
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
#pragma warning restore SYSLIB1054, CA5392

    /// <summary>The metadata of <paramref name="path"/>, links followed.</summary>
    public static FileStat Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (OperatingSystem.IsLinux() && !_statxMissing)
        {
            try
            {
                var buffer = new byte[256];
                if (Statx(AtFdCwd, path, 0, StatxType | StatxIno | StatxSize, buffer) != 0) return new FileStat(FileKind.Missing, 0, "");
                int mode = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(ModeOffset)) & 0xF000;
                var kind = mode switch { 0x8000 => FileKind.Regular, 0x4000 => FileKind.Directory, _ => FileKind.Special };
                string identity = string.Create(CultureInfo.InvariantCulture,
                    $"{BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(DevMajorOffset))}:{BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(DevMinorOffset))}:{BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(InoOffset))}");
                return new FileStat(kind, (long)BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(SizeOffset)), identity);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                _statxMissing = true;
            }
        }
        if (Directory.Exists(path)) return new FileStat(FileKind.Directory, 0, RealPath(path));
        var file = new FileInfo(path);
        return file.Exists ? new FileStat(FileKind.Regular, file.Length, RealPath(path)) : new FileStat(FileKind.Missing, 0, "");
    }

    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> name the same file or folder: the same existing one (links,
    /// <c>..</c> and hard links resolved), or the same path once made absolute and normalised (a <c>..</c> through a
    /// folder that does not exist yet).
    /// </summary>
    public static bool SameFile(string a, string b)
    {
        if (string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal)) return true;
        var x = Of(a);
        return x.Kind != FileKind.Missing && x.Identity == Of(b).Identity;
    }

    /// <summary>
    /// Throws unless <paramref name="path"/> is a regular file, so that nothing opens a FIFO (which blocks until a writer
    /// comes), a device or a folder as data.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file was given as, for the message ("weights file", "image").</param>
    /// <returns>Its metadata.</returns>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    /// <exception cref="InvalidDataException">It is a folder, FIFO, socket or device.</exception>
    public static FileStat RequireRegular(string path, string what)
    {
        var stat = Of(path);
        return stat.Kind switch
        {
            FileKind.Regular => stat,
            FileKind.Missing => throw new FileNotFoundException($"{Capitalise(what)} '{path}' does not exist.", path),
            FileKind.Directory => throw new InvalidDataException($"{Capitalise(what)} '{path}' is a folder, not a file."),
            _ => throw new InvalidDataException($"{Capitalise(what)} '{path}' is not a regular file (a FIFO, socket or device); it was not opened."),
        };
    }

    /// <summary>The bytes of <paramref name="path"/>, once it is known to be a regular file that one array can hold.</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file was given as, for the message.</param>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    /// <exception cref="InvalidDataException">It is not a regular file, or larger than an array can hold; the message names it.</exception>
    public static byte[] ReadAllBytes(string path, string what)
    {
        var stat = RequireRegular(path, what);
        if (stat.Length > Array.MaxLength)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"{Capitalise(what)} '{path}' is {stat.Length:N0} bytes, more than one read can hold ({Array.MaxLength:N0}); it was not read."));
        return File.ReadAllBytes(path);
    }

    private static string Capitalise(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>The path with every link resolved, for systems without <c>statx</c>.</summary>
    private static string RealPath(string path)
    {
        string full = Path.GetFullPath(path);
        FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
        return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
    }
}
