// Compiled by MSBuild's RoslynCodeTaskFactory from TorchSharpNativeFix.targets; not part of any product assembly.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace EfficientNetML.Build
{
    /// <summary>Marks one version need of an ELF64 shared library weak, in place, idempotently.</summary>
    public sealed class WeakenElfVersionNeed : Task
    {
        /// <summary>The shared library to patch (a copy in an output folder, never a package cache file).</summary>
        [Required] public string LibraryPath { get; set; } = "";

        /// <summary>The version name to weaken, for example GLIBCXX_3.4.32.</summary>
        [Required] public string VersionName { get; set; } = "";

        /// <summary>True when the file was changed by this run.</summary>
        [Output] public bool Patched { get; set; }

        public override bool Execute()
        {
            // ELF64 little-endian layout: section headers at e_shoff, each e_shentsize bytes.
            const uint ShtGnuVerneed = 0x6ffffffe;
            const ushort VerFlagWeak = 0x2;
            byte[] elf = File.ReadAllBytes(LibraryPath);
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            {
                Log.LogError("{0} is not a little-endian ELF64 file.", LibraryPath);
                return false;
            }
            long shoff = BitConverter.ToInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A);
            int shnum = BitConverter.ToUInt16(elf, 0x3C);
            bool found = false, changed = false;
            for (int s = 0; s < shnum; s++)
            {
                long sh = shoff + (long)s * shentsize;
                if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
                long offset = BitConverter.ToInt64(elf, (int)sh + 24);
                int link = (int)BitConverter.ToUInt32(elf, (int)sh + 40);
                int count = (int)BitConverter.ToUInt32(elf, (int)sh + 44);
                long strtab = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize) + 24);
                long need = offset;
                for (int n = 0; n < count; n++)
                {
                    int auxCount = BitConverter.ToUInt16(elf, (int)need + 2);
                    long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                    for (int a = 0; a < auxCount; a++)
                    {
                        long nameAt = strtab + BitConverter.ToUInt32(elf, (int)aux + 8);
                        int end = (int)nameAt;
                        while (elf[end] != 0) end++;
                        string name = Encoding.ASCII.GetString(elf, (int)nameAt, end - (int)nameAt);
                        if (name == VersionName)
                        {
                            found = true;
                            ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                            if ((flags & VerFlagWeak) == 0)
                            {
                                BitConverter.GetBytes((ushort)(flags | VerFlagWeak)).CopyTo(elf, (int)aux + 4);
                                changed = true;
                            }
                        }
                        aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                    }
                    need += BitConverter.ToUInt32(elf, (int)need + 12);
                }
            }
            if (!found)
            {
                Log.LogMessage(MessageImportance.Low, "{0} has no version need {1}; nothing to do.", LibraryPath, VersionName);
            }
            else if (changed)
            {
                // Write beside and rename, so a hard link into the NuGet cache (if a copy step made one) is never written through.
                // Keep the original timestamp so the incremental copy step sees an unchanged file and does not copy it again.
            DateTime written = File.GetLastWriteTimeUtc(LibraryPath);
            string temporary = LibraryPath + ".weakening";
                File.WriteAllBytes(temporary, elf);
                File.Delete(LibraryPath);
                File.Move(temporary, LibraryPath);
                File.SetLastWriteTimeUtc(LibraryPath, written);
                Log.LogMessage(MessageImportance.High, "Marked {0} weak in {1} so it loads on this libstdc++.", VersionName, LibraryPath);
            }
            Patched = changed;

            return !Log.HasLoggedErrors;
        }
    }
}
