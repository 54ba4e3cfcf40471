@echo off
rem Launcher the sc4pac GUI runs as cli\sc4pac.bat. It starts the frozen sc4pac-py executable
rem beside it, so no Python installation is needed.
"%~dp0sc4pac-py\sc4pac-py.exe" %*
exit /b %ERRORLEVEL%
