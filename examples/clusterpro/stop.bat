@echo off
rem CLUSTERPRO script resource, stop script. The routes stay as they are:
rem the next node to start moves them. tgw-vip stop always exits 0.
"C:\Program Files\tgw-vip\tgw-vip.exe" --vip 172.16.0.1 -c "C:\ProgramData\tgw-vip\tgw.conf" stop
exit /B %ERRORLEVEL%
