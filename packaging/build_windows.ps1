# Build the Windows one-folder bundle of X-Dyna Studio with PyInstaller (see packaging/README.md).
#
#   powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1 [-Flavour draft|full] [-Check] [-NoArchive] [-Clean]
#
#   -Flavour    draft (default, no torch: small) or full (with torch: X-Dyna renders);
#               the STUDIO_BUNDLE environment variable sets the default.
#   -Check      after building, run tests\test_packaging.py against the new bundle.
#   -NoArchive  do not pack dist\<flavour>\studio into a .zip.
#   -Clean      drop PyInstaller's cache (build\<flavour>) first.
#
# Output: dist\<flavour>\studio\{studio.exe, studio-cli.exe, _internal\} and
# dist\xdyna-studio-<version>-windows-<arch>-<flavour>.zip. Uses $env:PYTHON, else
# .venv\Scripts\python.exe, else python on PATH; PyInstaller 6 must be installed in it
# (pip install "xdyna-studio[dev]"). studio.exe has no console; studio-cli.exe is the console
# command line. The executables carry packaging\icons\studio.ico and a version resource.
param(
    [ValidateSet("draft", "full")]
    [string]$Flavour = $(if ($env:STUDIO_BUNDLE) { $env:STUDIO_BUNDLE } else { "draft" }),
    [switch]$Check,
    [switch]$NoArchive,
    [switch]$Clean
)
$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $PSScriptRoot
Set-Location $Root

if ($env:PYTHON) { $Py = $env:PYTHON }
elseif (Test-Path "$Root\.venv\Scripts\python.exe") { $Py = "$Root\.venv\Scripts\python.exe" }
else { $Py = (Get-Command python).Source }

& $Py -m PyInstaller --version | Out-Null
if ($LASTEXITCODE -ne 0) { throw "PyInstaller is not installed in $Py; run: $Py -m pip install 'pyinstaller>=6.5'" }
if ($Flavour -eq "full") {
    & $Py -c "import torch, diffusers, transformers, safetensors" 2>$null
    if ($LASTEXITCODE -ne 0) { throw "The full bundle needs torch, diffusers, transformers and safetensors in $Py (pip install 'xdyna-studio[xdyna]')." }
}

$env:PYTHONPATH = $Root
$Version = (& $Py -c "import studio; print(studio.__version__)").Trim()
Remove-Item Env:\PYTHONPATH
$Arch = if ([Environment]::Is64BitOperatingSystem) { "x64" } else { "x86" }
$Dist = Join-Path $Root "dist\$Flavour"
$Bundle = Join-Path $Dist "studio"
Write-Host "== building the $Flavour bundle of studio $Version ($Py)"

$PiArgs = @("-m", "PyInstaller", "--noconfirm", "--distpath", $Dist, "--workpath", (Join-Path $Root "build\$Flavour"))
if ($Clean) { $PiArgs += "--clean" }
$PiArgs += (Join-Path $Root "studio.spec")
$env:STUDIO_BUNDLE = $Flavour
$Timer = [Diagnostics.Stopwatch]::StartNew()
& $Py @PiArgs
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed (exit code $LASTEXITCODE)" }
$Timer.Stop()
$SizeMB = [math]::Round(((Get-ChildItem $Bundle -Recurse -File | Measure-Object Length -Sum).Sum / 1MB))
Write-Host ("== built $Bundle in {0:N0}s: $SizeMB MB" -f $Timer.Elapsed.TotalSeconds)

if (-not $NoArchive) {
    $Zip = Join-Path $Root "dist\xdyna-studio-$Version-windows-$Arch-$Flavour.zip"
    if (Test-Path $Zip) { Remove-Item $Zip }
    Compress-Archive -Path $Bundle -DestinationPath $Zip
    Write-Host "== archive: $Zip"
}

if ($Check) {
    Write-Host "== checking the bundle (tests\test_packaging.py)"
    $env:STUDIO_PACKAGED_APP = $Bundle
    $env:QT_QPA_PLATFORM = "offscreen"
    & $Py -m pytest (Join-Path $Root "tests\test_packaging.py") -m slow -q -s -p no:cacheprovider
    if ($LASTEXITCODE -ne 0) { throw "the bundle check failed" }
}
