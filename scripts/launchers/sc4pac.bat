@echo off
rem Launcher the sc4pac GUI runs as cli\sc4pac.bat: copy it into the GUI's "cli" folder and point
rem SC4PAC_PYTHON at the Python that has this project installed (for example its .venv).
if "%SC4PAC_PYTHON%"=="" set "SC4PAC_PYTHON=python"
"%SC4PAC_PYTHON%" -m sc4pac %*
exit /b %ERRORLEVEL%
